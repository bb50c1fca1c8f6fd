"""File types are decided from bytes; display names are made safe."""

from __future__ import annotations

import io

import pytest

from telemed.documents.filetypes import (
    ALLOWED_TYPES,
    SNIFF_BYTES,
    require_allowed,
    safe_filename,
    sniff,
    sniff_stream,
)
from telemed.errors import EmptyFile, UnsupportedType


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08meta" * 4


DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00"

ACCEPTED = [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"\xff\xd8\xff\xe1\x00\x10Exif\x00", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (ftyp(b"heix", b"mif1"), "image/heic"),
    (ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    (ftyp(b"msf1", b"msf1", b"hevc"), "image/heic"),
    (ftyp(b"mif1", b"mif1", b"miaf"), "image/heif"),
    (ftyp(b"msf1", b"msf1"), "image/heif"),
    (DICOM, "application/dicom"),
    (b"Blood test 2024-05-01\r\nHb\t140 g/L\f\n", "text/plain"),
    ("Анализ крови: гемоглобин 140 г/л, a < b".encode(), "text/plain"),
    ("\ufeffС BOM".encode(), "text/plain"),
    (b"   \n", "text/plain"),
]

REJECTED = [
    b"",
    b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    b"<html><body>x</body></html>",
    b"  \r\n\t<b>bold</b>",
    "\ufeff<p>hi</p>".encode(),
    b"note\n<script>alert(1)</script>",
    b"some text then <SVG onload=alert(1)>",
    b"some text then <!DocType html>",
    b"plain text <?xml version='1.0'?>",
    b"a text with <HTML> inside",
    b"text\x00with NUL",
    b"text with escape \x1b[31m",
    b"text with DEL \x7f",
    b"text with vertical tab \x0b",
    "C1 control \u0085".encode(),
    b"caf\xe9 latin-1 is not UTF-8",
    b"\xd0\xb0\xd0 truncated in the middle \xd0\xb0",
    ftyp(b"avif", b"avif", b"mif1", b"miaf"),
    ftyp(b"isom", b"isom", b"iso2", b"mp41"),
    b"\x00\x00\x00\x08ftypheic",  # box too short to hold brands
    b"GIF89a\x01\x00\x01\x00",
    b"PK\x03\x04\x14\x00\x06\x00",
    b"MZ\x90\x00\x03\x00",
    b"\x7fELF\x02\x01\x01",
    b"\x00" * 127 + b"DICM",  # DICM at the wrong offset
]


@pytest.mark.parametrize("head, mime", ACCEPTED)
def test_sniff_accepts_allowed_types(head: bytes, mime: str) -> None:
    assert sniff(head) == mime
    assert mime in ALLOWED_TYPES


@pytest.mark.parametrize("head", REJECTED)
def test_sniff_rejects_everything_else(head: bytes) -> None:
    assert sniff(head) is None


def test_allowed_types_and_sniff_bytes() -> None:
    assert {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/heic",
        "image/heif",
        "application/dicom",
        "text/plain",
    } == ALLOWED_TYPES
    assert SNIFF_BYTES >= 132


def test_text_cut_inside_a_multibyte_char_at_the_end_of_the_head() -> None:
    data = ("Жалобы на головную боль. " * 400).encode()
    head = data[:SNIFF_BYTES]
    assert head[-1] >= 0x80 and head[-1:].decode("utf-8", "replace") == "\ufffd"  # really cut
    assert sniff(head) == "text/plain"
    assert sniff(head[:-2] + b"\xd0\xd0") is None  # a broken sequence before the end is not


def test_markup_anywhere_in_the_head_is_rejected() -> None:
    head = (b"harmless line\n" * 250 + b"<svg/onload=alert(1)>")[:SNIFF_BYTES]
    assert b"<svg" in head
    assert sniff(head) is None
    assert sniff(b"harmless line\n" * 250) == "text/plain"


@pytest.mark.parametrize(
    "bytes_, name", [(b"<svg onload=alert(1)>", "x.pdf"), (b"<html><script>x</script>", "scan.png")]
)
def test_name_and_declared_type_do_not_matter(bytes_: bytes, name: str) -> None:
    stream = io.BytesIO(bytes_)
    stream.name = name  # what a multipart upload would carry; never looked at
    assert sniff(bytes_) is None
    with pytest.raises(UnsupportedType):
        sniff_stream(stream)


def test_require_allowed() -> None:
    assert require_allowed(b"%PDF-1.4") == "application/pdf"
    with pytest.raises(EmptyFile):
        require_allowed(b"")
    with pytest.raises(UnsupportedType):
        require_allowed(b"GIF89a\x01\x00\x01\x00")


class Trickle(io.RawIOBase):
    """Returns at most 7 bytes per read, like a slow socket."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._data.read(7 if n is None or n < 0 else min(n, 7))


@pytest.mark.parametrize("read_size", [1, 1000, SNIFF_BYTES + 3, -1])
def test_sniff_stream_replays_the_whole_content(read_size: int) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 40
    mime, stream = sniff_stream(Trickle(data))
    assert mime == "application/pdf"
    out = bytearray()
    while chunk := stream.read(read_size):
        out += chunk
    assert bytes(out) == data


def test_sniff_stream_empty() -> None:
    with pytest.raises(EmptyFile):
        sniff_stream(io.BytesIO(b""))


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Анализ крови.pdf", "Анализ крови.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Снимок.png", "Снимок.png"),
        ("evil\r\nSet-Cookie: a=b.txt", "evilSet-Cookie: a=b.txt"),
        ("nul\x00byte\x1f.txt", "nulbyte.txt"),
        ("  many \u2028  spaces\u3000here .pdf ", "many spaces here .pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("..", "file"),
        (".", "file"),
        ("", "file"),
        ("dir/", "file"),
        ("\r\n\x00", "file"),
        ("/..", "file"),
        ("Cafe\u0301.txt", "Café.txt"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_trims_to_200_characters_keeping_extension() -> None:
    long = safe_filename("ж" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf") and long.startswith("жжж")
    no_ext = safe_filename("x" * 300)
    assert no_ext == "x" * 200
    odd_ext = safe_filename("a" * 250 + "." + "b" * 40)  # not a real extension: plain cut
    assert odd_ext == "a" * 200
