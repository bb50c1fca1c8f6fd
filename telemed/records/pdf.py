"""Signed medical conclusion as a PDF (fpdf2), in Russian.

``render_conclusion_pdf(doc)`` returns the PDF bytes. Text is set in an embedded
Unicode TrueType font so that Cyrillic both renders and extracts (copy/paste,
search, pypdf). Font discovery, first match wins:

1. ``font_path`` (and optionally ``bold_font_path``) passed by the caller;
2. Open Sans from the ``ttf-opensans`` package (a declared dependency);
   DejaVu Sans, when installed, is added as a fallback for glyphs Open Sans
   lacks (arrows, ₽, subscripts);
3. DejaVu Sans from the system (Debian ``fonts-dejavu-core``).

``FontNotFoundError`` says how to fix it when nothing is found. Times are shown
in ``doc.time_zone`` with the UTC offset; long texts wrap and paginate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from telemed.records.documents import ConclusionDocument

__all__ = ["CLINIC_NOTICE", "FontFiles", "FontNotFoundError", "find_fonts", "render_conclusion_pdf"]

CLINIC_NOTICE = (
    "Листки нетрудоспособности, справки и рецепты по результатам дистанционной "
    "консультации не выдаются — их оформляют в клинике."
)
EMPTY = "—"

_DEJAVU_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu"),  # Fedora, Alpine
    Path("/usr/share/fonts/TTF"),  # Arch
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BODY, _FALLBACK = "body", "fallback"
_LINE = 5.2  # mm, body line height
_LABEL_WIDTH = 42.0  # mm


class FontNotFoundError(RuntimeError):
    """No usable Unicode TrueType font was found."""


@dataclass(frozen=True, slots=True)
class FontFiles:
    regular: Path
    bold: Path
    fallback: Path | None = None
    fallback_bold: Path | None = None


def _dejavu() -> tuple[Path, Path] | None:
    for folder in _DEJAVU_DIRS:
        regular = folder / "DejaVuSans.ttf"
        if regular.is_file():
            bold = folder / "DejaVuSans-Bold.ttf"
            return regular, bold if bold.is_file() else regular
    return None


def _open_sans() -> tuple[Path, Path] | None:
    try:
        folder = resources.files("ttf_opensans").joinpath("ttf")
    except ModuleNotFoundError:
        return None
    regular = Path(str(folder.joinpath("OpenSans-Regular.ttf")))
    bold = Path(str(folder.joinpath("OpenSans-Bold.ttf")))
    return (regular, bold) if regular.is_file() and bold.is_file() else None


def find_fonts(font_path: str | Path | None = None, bold_font_path: str | Path | None = None) -> FontFiles:
    """Resolve the fonts to embed (see the module docstring for the order)."""
    if font_path is not None:
        regular = Path(font_path)
        bold = Path(bold_font_path) if bold_font_path is not None else regular
        for path in (regular, bold):
            if not path.is_file():
                raise FontNotFoundError(f"font file not found: {path}")
        return FontFiles(regular, bold)
    dejavu = _dejavu()
    open_sans = _open_sans()
    if open_sans:
        found = FontFiles(open_sans[0], open_sans[1], *(dejavu or (None, None)))
    elif dejavu:
        found = FontFiles(*dejavu)
    else:
        raise FontNotFoundError(
            "No Unicode TrueType font for the conclusion PDF: install the Python package "
            "'ttf-opensans' or the Debian package 'fonts-dejavu-core', or pass font_path=."
        )
    if bold_font_path is not None:
        bold = Path(bold_font_path)
        if not bold.is_file():
            raise FontNotFoundError(f"font file not found: {bold}")
        found = FontFiles(found.regular, bold, found.fallback, found.fallback_bold)
    return found


def _clean(text: str) -> str:
    """Normalise line ends and drop control characters fpdf2 cannot set."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL_RE.sub("", text).strip()


def format_time(moment: datetime, time_zone: str) -> str:
    """``24.11.2025 14:30 (Europe/Moscow, UTC+03:00)``."""
    local = moment.astimezone(ZoneInfo(time_zone))
    offset = local.strftime("%z")
    return f"{local:%d.%m.%Y %H:%M} ({time_zone}, UTC{offset[:3]}:{offset[3:]})"


class _ConclusionPdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_title = title

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(_BODY, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, f"{self._footer_title} · стр. {self.page_no()} из {{nb}}", align="C")
        self.set_text_color(0)


class _Writer:
    """Small layout helpers over one FPDF instance."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf

    def heading(self, text: str) -> None:
        pdf = self.pdf
        if pdf.will_page_break(_LINE * 3):  # keep a heading with its first lines
            pdf.add_page()
        pdf.ln(2.5)
        pdf.set_font(_BODY, "B", 12)
        pdf.multi_cell(0, 6.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, *, size: float = 10.5, style: str = "") -> None:
        self.pdf.set_font(_BODY, style, size)
        self.pdf.multi_cell(0, _LINE, _clean(text) or EMPTY, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, value: str) -> None:
        pdf = self.pdf
        pdf.set_font(_BODY, "B", 10.5)
        pdf.cell(_LABEL_WIDTH, _LINE, label)
        pdf.set_font(_BODY, "", 10.5)
        pdf.multi_cell(0, _LINE, _clean(value) or EMPTY, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def section(self, title: str, text: str) -> None:
        self.heading(title)
        self.paragraph(text)


def _new_pdf(doc: ConclusionDocument, fonts: FontFiles) -> FPDF:
    pdf = _ConclusionPdf(f"Медицинское заключение № {doc.consultation_id}")
    pdf.add_font(_BODY, "", str(fonts.regular))
    pdf.add_font(_BODY, "B", str(fonts.bold))
    if fonts.fallback is not None:
        pdf.add_font(_FALLBACK, "", str(fonts.fallback))
        pdf.add_font(_FALLBACK, "B", str(fonts.fallback_bold or fonts.fallback))
        pdf.set_fallback_fonts([_FALLBACK], exact_match=False)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(f"Медицинское заключение № {doc.consultation_id}")
    pdf.set_author(doc.signed_by)
    pdf.set_creator("telemed")
    pdf.set_lang("ru-RU")
    pdf.set_creation_date(doc.signed_at)  # same input, same bytes
    pdf.add_page()
    return pdf


def render_conclusion_pdf(
    doc: ConclusionDocument,
    *,
    font_path: str | Path | None = None,
    bold_font_path: str | Path | None = None,
) -> bytes:
    """Render ``doc`` as an A4 PDF and return its bytes.

    Empty fields print as «—»; the clinic notice (``CLINIC_NOTICE``), the
    signature line and the content hash are always present.
    Raises ``FontNotFoundError`` when no font can be found.
    """
    pdf = _new_pdf(doc, find_fonts(font_path, bold_font_path))
    out = _Writer(pdf)
    content = doc.content

    pdf.set_font(_BODY, "B", 16)
    pdf.cell(0, 9, "Медицинское заключение", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_BODY, "", 11)
    pdf.cell(
        0,
        6,
        f"по результатам дистанционной консультации № {doc.consultation_id}",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(4)
    out.field("Пациент:", doc.patient_name)
    out.field("Дата рождения:", f"{doc.patient_birth_date:%d.%m.%Y}")
    out.field("Врач:", doc.doctor_name)
    out.field("Специальность:", doc.doctor_specialty)
    out.field("Консультация:", format_time(doc.started_at, doc.time_zone))

    out.section("Жалобы", content.complaints)
    out.section("Анамнез", content.anamnesis)
    out.section("Объективно", content.objective)
    diagnosis = _clean(content.diagnosis.text)
    if content.diagnosis.icd10:
        diagnosis = f"{content.diagnosis.icd10} — {diagnosis}" if diagnosis else content.diagnosis.icd10
    out.section("Диагноз", diagnosis)
    out.section("Рекомендации", content.recommendations)
    referrals = [_clean(r.line()) for r in content.referrals if _clean(r.line())]
    out.section("Направления", "\n".join(f"{i}. {r}" for i, r in enumerate(referrals, 1)))
    out.section("Повторная консультация", content.follow_up)

    pdf.ln(4)
    pdf.set_fill_color(242, 242, 242)
    pdf.set_font(_BODY, "", 9.5)
    pdf.multi_cell(
        0, 5, CLINIC_NOTICE, border=1, fill=True, padding=2, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )

    if pdf.will_page_break(22):  # keep the signature and the hash together
        pdf.add_page()
    pdf.ln(3)
    out.paragraph(f"Подписано: {doc.signed_by}, {format_time(doc.signed_at, doc.time_zone)}", style="B")
    out.paragraph("Контрольная сумма содержания (SHA-256):", size=9)
    out.paragraph(doc.content_sha256, size=9)

    if doc.addenda:
        out.heading("Дополнения")
        for addendum in doc.addenda:
            out.paragraph(f"{format_time(addendum.created_at, doc.time_zone)}, {addendum.author}", style="B")
            out.paragraph(f"Причина: {addendum.reason}", size=9.5)
            out.paragraph(addendum.text)
            pdf.ln(1.5)

    return bytes(pdf.output())
