"""A stored document's whole content is checked: text throughout, PDFs for scripts; its name keeps
an extension of its sniffed type."""

from __future__ import annotations

import io

import pytest
from fpdf import FPDF
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from telemed.documents.content import checked
from telemed.documents.filetypes import PDF, SNIFF_BYTES, TEXT, TextCheck, filename_for
from telemed.documents.pdfcheck import require_no_javascript
from telemed.errors import FileTooLarge, UnsafeDocument, UnsupportedType


@pytest.mark.parametrize(
    ("name", "mime", "expected"),
    [
        ("report.html", PDF, "report.pdf"),
        ("Анализ крови", PDF, "Анализ крови.pdf"),
        ("scan.JPG", "image/jpeg", "scan.JPG"),
        ("scan.jpeg", "image/jpeg", "scan.jpeg"),
        ("photo.png", "image/jpeg", "photo.jpg"),
        ("results.svg", TEXT, "results.txt"),
        ("ct.dicom", "application/dicom", "ct.dicom"),
        ("Иванов И. И", TEXT, "Иванов И. И.txt"),  # ". И" is no extension
        ("я" * 300 + ".html", PDF, "я" * 195 + ".pdf"),
    ],
)
def test_a_name_keeps_an_extension_of_its_type(name, mime, expected):
    assert filename_for(name, mime) == expected


def test_text_is_checked_whole_not_only_its_head():
    body = ("Гемоглобин 135 г/л\n" * 400).encode()
    assert len(body) > SNIFF_BYTES
    for tail in (b"<script>alert(1)</script>", b"\x00binary", b"\xff\xfe", b"<SVG onload=x>"):
        check = TextCheck()
        chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)] + [tail[:3], tail[3:]]
        assert not all(check.feed(c) for c in chunks) or not check.feed(b"", final=True), tail
    check = TextCheck()
    assert check.feed(body) and check.feed(b"", final=True)


def test_a_text_stream_failing_late_raises_while_read():
    body = b"plain\n" * 2000 + b"<iframe src=x>"
    with checked(TEXT, io.BytesIO(body), max_size=10**6) as stream, pytest.raises(UnsupportedType):
        while stream.read(1000):
            pass


def js_action() -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )


def written(mutate) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    mutate(writer, page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def open_action(w, _page):
    w._root_object[NameObject("/OpenAction")] = w._add_object(js_action())


def page_action(w, page):
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): w._add_object(js_action())})


def named_script(w, _page):
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), w._add_object(js_action())])}
    )
    w._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def launch_only(w, _page):  # not a script: allowed
    w._root_object[NameObject("/OpenAction")] = ArrayObject(
        [w.pages[0].indirect_reference, NameObject("/Fit")]
    )


BROKEN_WITH_SCRIPT = b"%PDF-1.4\n1 0 obj<</Type/Action/S/JavaScript/J#53(app.alert(1))>>endobj\n%%EOF\n"


@pytest.mark.parametrize("mutate", [open_action, page_action, named_script])
def test_pdfs_with_javascript_actions_are_refused(mutate):
    with pytest.raises(UnsafeDocument):
        require_no_javascript(io.BytesIO(written(mutate)))


def test_a_pdf_pypdf_cannot_read_is_scanned_raw_escapes_decoded():
    with pytest.raises(UnsafeDocument):
        require_no_javascript(io.BytesIO(BROKEN_WITH_SCRIPT))
    require_no_javascript(io.BytesIO(b"%PDF-1.7\n1 0 obj<<>>endobj\n" + b"0" * 5000))


def test_plain_pdfs_pass():
    require_no_javascript(io.BytesIO(written(launch_only)))
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text="Hemoglobin 135 g/l")
    require_no_javascript(io.BytesIO(bytes(pdf.output())))


def test_a_pdf_is_checked_before_anything_is_stored_and_bounded_by_the_limit():
    script = written(open_action)
    with pytest.raises(UnsafeDocument), checked(PDF, io.BytesIO(script), max_size=10**6):
        pytest.fail("a scripted PDF reached storage")
    with pytest.raises(FileTooLarge), checked(PDF, io.BytesIO(script), max_size=100):
        pytest.fail("an oversize PDF reached storage")
    clean = written(launch_only)
    with checked(PDF, io.BytesIO(clean), max_size=10**6) as stream:
        assert stream.read() == clean
