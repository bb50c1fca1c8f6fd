"""Conclusion PDF: Russian text that extracts, notice, signature, hash, pagination."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfoNotFoundError

import pytest
from pypdf import PdfReader

from telemed.records import pdf as pdf_module
from telemed.records.documents import Addendum, ConclusionContent, ConclusionDocument, Diagnosis, Referral
from telemed.records.pdf import CLINIC_NOTICE, FontNotFoundError, render_conclusion_pdf

HASH = "3f9a" * 16
HEADINGS = [
    "Медицинское заключение",
    "Жалобы",
    "Анамнез",
    "Объективно",
    "Диагноз",
    "Рекомендации",
    "Направления",
    "Повторная консультация",
    "Дополнения",
]


def make_doc(**changes) -> ConclusionDocument:
    content = ConclusionContent(
        complaints="Боль в горле, температура 38,2 °C, слабость.",
        anamnesis="Болеет второй день. Аллергию отрицает.",
        objective="Со слов пациентки: зев гиперемирован, налётов нет.",
        diagnosis=Diagnosis("J06.9", "Острая инфекция верхних дыхательных путей неуточненная"),
        recommendations="Обильное тёплое питьё.\nПри ухудшении — очный приём.",
        referrals=[
            Referral("test", code="B03.016.002", title="Общий (клинический) анализ крови"),
            Referral("specialist", specialty="ent", title="ЛОР", note="при сохранении заложенности"),
            Referral("in_person", note="Консультация оториноларинголога"),
        ],
        follow_up="Через 5 дней",
    )
    doc = ConclusionDocument(
        consultation_id=42,
        patient_name="Иванова Мария Сергеевна",
        patient_birth_date=date(1990, 3, 14),
        doctor_name="Петров Алексей Иванович",
        doctor_specialty="Терапевт",
        started_at=datetime(2025, 11, 24, 11, 30, tzinfo=UTC),
        time_zone="Europe/Moscow",
        content=content,
        signed_at=datetime(2025, 11, 24, 12, 5, tzinfo=UTC),
        signed_by="Петров Алексей Иванович",
        content_sha256=HASH,
        addenda=[
            (
                "Петров А. И.",
                datetime(2025, 11, 25, 8, 0, tzinfo=UTC),
                "Уточнение диагноза",
                "Получен результат анализа крови.",
            )
        ],
    )
    return dataclasses.replace(doc, **changes)


def read(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, text


def flat(text: str) -> str:
    return " ".join(text.split())


def test_russian_headings_names_notice_signature_and_hash_extract():
    data = render_conclusion_pdf(make_doc())
    assert data.startswith(b"%PDF-")
    reader, text = read(data)
    assert len(reader.pages) == 1
    for heading in HEADINGS:
        assert heading in text
    assert "Иванова Мария Сергеевна" in text
    assert "14.03.1990" in text
    assert "Петров Алексей Иванович" in text and "Терапевт" in text
    assert "J06.9 — Острая инфекция верхних дыхательных путей неуточненная" in text
    assert "1. B03.016.002 Общий (клинический) анализ крови" in text
    assert "2. Консультация специалиста: ЛОР — при сохранении заложенности" in text
    assert "3. Очный приём — Консультация оториноларинголога" in text
    assert "налётов нет" in text  # ё survives
    assert HASH in text
    assert "Подписано: Петров Алексей Иванович, 24.11.2025 15:05 (Europe/Moscow, UTC+03:00)" in text
    notice = flat(text)
    assert CLINIC_NOTICE in notice
    assert "Листки нетрудоспособности, справки и рецепты" in notice
    assert "не выдаются — их оформляют в клинике" in notice
    assert "Причина: Уточнение диагноза" in text and "Получен результат анализа крови." in text


def test_times_are_shown_in_the_given_zone_with_offset():
    _, text = read(render_conclusion_pdf(make_doc(time_zone="Asia/Vladivostok")))
    assert "24.11.2025 21:30 (Asia/Vladivostok, UTC+10:00)" in text
    _, text = read(render_conclusion_pdf(make_doc(time_zone="America/New_York")))
    assert "24.11.2025 06:30 (America/New_York, UTC-05:00)" in text


def test_long_text_wraps_and_paginates_without_losing_the_end():
    long = "Рекомендуется соблюдать режим и принимать тёплое питьё. " * 300 + "КОНЕЦ-РЕКОМЕНДАЦИЙ"
    content = dataclasses.replace(make_doc().content, recommendations=long)
    reader, text = read(render_conclusion_pdf(make_doc(content=content)))
    assert len(reader.pages) > 1
    assert "КОНЕЦ-РЕКОМЕНДАЦИЙ" in text
    assert HASH in text and CLINIC_NOTICE in flat(text)
    assert f"стр. {len(reader.pages)} из {len(reader.pages)}" in text


def test_empty_fields_print_a_dash_and_no_addenda_section():
    content = ConclusionContent("", "", "", Diagnosis(None, ""), "", (), "")
    _, text = read(render_conclusion_pdf(make_doc(content=content, addenda=())))
    assert "Дополнения" not in text
    lines = [line.strip() for line in text.splitlines()]
    assert lines[lines.index("Жалобы") + 1] == "—"
    assert lines[lines.index("Направления") + 1] == "—"


def test_output_is_deterministic_and_fonts_are_embedded():
    first = render_conclusion_pdf(make_doc())
    assert first == render_conclusion_pdf(make_doc())
    reader, _ = read(first)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor  # TrueType program embedded
        assert "/ToUnicode" in font


def test_explicit_font_path_is_used_and_a_missing_one_is_a_clear_error(tmp_path):
    regular = pdf_module.find_fonts().regular
    _, text = read(render_conclusion_pdf(make_doc(), font_path=regular))
    assert "Медицинское заключение" in text
    with pytest.raises(FontNotFoundError, match="not found"):
        render_conclusion_pdf(make_doc(), font_path=tmp_path / "missing.ttf")


def test_no_font_anywhere_raises_with_instructions(monkeypatch):
    monkeypatch.setattr(pdf_module, "_open_sans", lambda: None)
    monkeypatch.setattr(pdf_module, "_dejavu", lambda: None)
    with pytest.raises(FontNotFoundError, match="ttf-opensans"):
        render_conclusion_pdf(make_doc())


def test_document_rejects_naive_times_and_unknown_zones():
    with pytest.raises(ValueError, match="timezone-aware"):
        make_doc(signed_at=datetime(2025, 11, 24, 12, 5))
    with pytest.raises(ValueError, match="timezone-aware"):
        make_doc(addenda=[Addendum("x", datetime(2025, 1, 1), "r", "t")])
    with pytest.raises(ZoneInfoNotFoundError):
        make_doc(time_zone="Mars/Olympus")
