"""Referrals without a database: the catalogue, the stored shape, legacy strings, booking matches."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from telemed import errors
from telemed.catalog.specialties import BY_CODE
from telemed.records import referral_catalogue, referrals
from telemed.records.documents import Referral as PrintedReferral
from telemed.records.models import Referral

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOMENCLATURE_CODE = re.compile(r"[AB][0-9]{2}\.[0-9]{2,3}\.[0-9]{3}(\.[0-9]{3})?")


def test_the_catalogue_has_unique_nomenclature_codes_and_both_titles():
    services = referral_catalogue.all_services()
    assert len(services) >= 30
    assert len({s.code for s in services}) == len(services)
    for s in services:
        assert NOMENCLATURE_CODE.fullmatch(s.code), s.code
        assert s.kind in ("lab", "study") and s.title_ru and s.title_en
        assert re.search("[а-яё]", s.title_ru, re.I) and not re.search("[а-яё]", s.title_en, re.I)
    assert referral_catalogue.lookup("b03.016.002").title_ru == "Общий (клинический) анализ крови"
    assert referral_catalogue.lookup("A09.05.023").title_en == "Blood glucose"
    assert referral_catalogue.lookup("Z00.000.000") is None and referral_catalogue.lookup(5) is None


def test_search_puts_code_prefixes_first_and_needs_every_word():
    assert [s.code for s in referral_catalogue.search("A06.09")] == ["A06.09.007", "A06.09.006", "A06.09.005"]
    assert [s.code for s in referral_catalogue.search("анализ мочи")] == ["B03.016.006"]
    assert [s.code for s in referral_catalogue.search("УЗИ")] == []  # not a synonym list
    assert len(referral_catalogue.search("", limit=7)) == 7
    assert [s.code for s in referral_catalogue.search("ёж")] == []


def test_clean_keeps_only_the_keys_that_apply():
    assert referrals.clean(None) == []
    assert referrals.clean(
        [
            {"kind": "test", "code": "a05.10.006", "specialty": None, "note": " срочно "},
            {"kind": "specialist", "specialty": "ent", "code": ""},
            {"kind": "in_person", "note": "", "title": "ignored"},
        ]
    ) == [
        {"kind": "test", "code": "A05.10.006", "note": "срочно"},
        {"kind": "specialist", "specialty": "ent"},
        {"kind": "in_person"},
    ]


def test_clean_names_the_bad_field():
    with pytest.raises(errors.ValidationFailed) as e:
        referrals.clean([{"kind": "in_person"}, {"kind": "test", "code": "B03.016.002", "specialty": "ent"}])
    assert e.value.details == {"field": "referrals[1].specialty"}


def test_a_legacy_string_reads_as_an_in_person_referral():
    assert referrals.normalize("Общий анализ крови") == {
        "kind": "in_person",
        "code": None,
        "specialty": None,
        "note": "Общий анализ крови",
    }
    assert referrals.describe({"kind": "specialist", "specialty": "ent"})["title"] == BY_CODE["ent"].name_ru
    assert PrintedReferral.from_value("Общий анализ крови").line() == "Очный приём — Общий анализ крови"


def referral(id, kind="specialist", specialty="cardiologist", patient=1, issued=T0):
    return Referral(id=id, kind=kind, specialty_code=specialty, patient_id=patient, issued_at=issued)


def booking(id, specialty="cardiologist", patient=1, at=T0 + timedelta(days=1)):
    return referrals.Booking(id=id, patient_id=patient, specialty_code=specialty, created_at=at)


def test_each_booking_uses_one_referral_of_its_patient_and_specialty_while_valid():
    rs = [
        referral(1),
        referral(2),
        referral(3, specialty="ent"),
        referral(4, patient=2),
        referral(5, kind="in_person"),
        referral(6, issued=T0 - timedelta(days=40)),
    ]
    bs = [booking(10), booking(11, specialty="ent", at=T0 - timedelta(days=1)), booking(12, patient=2)]
    # 1 takes the only cardiology booking; 2 has none left; 3's ENT booking came before it; 6 had expired
    assert referrals.match_bookings(rs, bs) == {1: 10, 4: 12}


def test_status_is_booked_then_expired_after_30_days():
    r = referral(1)
    assert referrals.status_of(r, None, T0 + timedelta(days=29, hours=23)) == "issued"
    assert referrals.status_of(r, None, T0 + timedelta(days=30)) == "expired"
    assert referrals.status_of(r, 7, T0 + timedelta(days=90)) == "booked"
