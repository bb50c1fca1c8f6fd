"""Pure booking rules: no app, no database."""

from datetime import UTC, date, datetime, timedelta

import pytest

from telemed import errors
from telemed.catalog.rules import experience_years
from telemed.catalog.specialties import BY_CODE
from telemed.members.rules import PolicyFacts, age_on, pick_policy
from telemed.scheduling import rules

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DAY = date(2026, 6, 2)


def policy(**kw) -> PolicyFacts:
    base = {
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 12, 31),
        "contract_starts_on": date(2026, 1, 1),
        "contract_ends_on": date(2026, 12, 31),
        "telemedicine": True,
        "covered_specialties": frozenset(BY_CODE),
        "psychologist_limit": 3,
    }
    return PolicyFacts(**{**base, **kw})


def facts(**kw) -> rules.BookingFacts:
    base = {
        "now": NOW,
        "slot_start": NOW + timedelta(days=1),
        "consultation_day": DAY,
        "specialty": BY_CODE["therapist"],
        "patient_birth_date": date(1990, 1, 1),
        "booker_is_patient": True,
        "booker_is_guardian": False,
        "consent_accepted": True,
        "policy": policy(),
        "psychologist_used": 0,
    }
    return rules.BookingFacts(**{**base, **kw})


def test_a_valid_booking_passes():
    assert rules.check_booking(facts()) is None


@pytest.mark.parametrize(
    "birth, expected",
    [(date(2008, 6, 2), 18), (date(2008, 6, 3), 17), (date(2000, 2, 29), 26), (date(2026, 6, 2), 0)],
)
def test_age_on_counts_whole_years(birth, expected):
    assert age_on(birth, DAY) == expected


def test_experience_years_is_whole_years_and_never_negative():
    assert experience_years(date(2010, 9, 1), date(2026, 8, 31)) == 15
    assert experience_years(date(2010, 9, 1), date(2026, 9, 1)) == 16
    assert experience_years(date(2030, 1, 1), date(2026, 1, 1)) == 0


@pytest.mark.parametrize(
    "kw, error",
    [
        ({"booker_is_patient": False}, errors.NotGuardian),
        ({"consent_accepted": False}, errors.ConsentRequired),
        ({"slot_start": NOW}, errors.SlotUnavailable),
        ({"slot_start": NOW - timedelta(minutes=1)}, errors.SlotUnavailable),
        ({"policy": None}, errors.PolicyInactive),
        ({"policy": policy(telemedicine=False)}, errors.NotCovered),
        ({"policy": policy(covered_specialties=frozenset({"pediatrician"}))}, errors.NotCovered),
    ],
)
def test_each_rule_refuses(kw, error):
    with pytest.raises(error):
        rules.check_booking(facts(**kw))


def test_guardian_may_book_for_the_child():
    rules.check_booking(
        facts(
            booker_is_patient=False,
            booker_is_guardian=True,
            specialty=BY_CODE["pediatrician"],
            patient_birth_date=date(2018, 1, 1),
        )
    )


def test_the_booker_is_checked_before_anything_else():
    with pytest.raises(errors.NotGuardian):
        rules.check_booking(facts(booker_is_patient=False, consent_accepted=False, policy=None))


def test_psychologist_is_for_adults_only_on_the_consultation_date():
    psych = BY_CODE["psychologist"]
    with pytest.raises(errors.AdultOnly):
        rules.check_booking(facts(specialty=psych, patient_birth_date=date(2008, 6, 3)))  # 18 tomorrow
    rules.check_booking(facts(specialty=psych, patient_birth_date=date(2008, 6, 2)))  # 18 today


def test_pediatrician_is_for_children_only():
    with pytest.raises(errors.NotCovered):
        rules.check_booking(facts(specialty=BY_CODE["pediatrician"], patient_birth_date=date(2008, 6, 2)))
    rules.check_booking(facts(specialty=BY_CODE["pediatrician"], patient_birth_date=date(2008, 6, 3)))


@pytest.mark.parametrize(
    "limit, used, ok", [(3, 0, True), (3, 2, True), (3, 3, False), (5, 4, True), (1, 1, False)]
)
def test_psychologist_limit_comes_from_the_programme(limit, used, ok):
    f = facts(
        specialty=BY_CODE["psychologist"], policy=policy(psychologist_limit=limit), psychologist_used=used
    )
    if ok:
        rules.check_booking(f)
    else:
        with pytest.raises(errors.LimitReached):
            rules.check_booking(f)


def test_limit_does_not_apply_to_other_specialties():
    rules.check_booking(facts(specialty=BY_CODE["neurologist"], psychologist_used=99))


def test_policy_must_be_active_on_the_day_within_the_contract_term():
    p = policy(valid_from=date(2026, 3, 1), valid_to=date(2026, 6, 1))
    assert p.active_on(date(2026, 6, 1)) and not p.active_on(date(2026, 6, 2))
    assert not policy(contract_ends_on=date(2026, 5, 31)).active_on(DAY)


def test_pick_policy_prefers_a_telemedicine_policy():
    plain = policy(telemedicine=False, valid_to=date(2026, 12, 31))
    tele = policy(telemedicine=True, valid_to=date(2026, 7, 1))
    assert pick_policy([plain, tele], DAY) is tele
    assert pick_policy([policy(valid_to=date(2026, 1, 31))], DAY) is None


def test_can_cancel_only_scheduled_before_start():
    start = NOW + timedelta(hours=1)
    assert rules.can_cancel("scheduled", start, NOW)
    assert not rules.can_cancel("scheduled", start, start)
    assert not rules.can_cancel("completed", start, NOW)


def test_specialty_modes_follow_the_booklet():
    urgent = {c for c, s in BY_CODE.items() if s.modes == ["urgent", "planned"]}
    assert urgent == {"therapist", "pediatrician"}
    assert {c for c, s in BY_CODE.items() if s.adult_only} == {"psychologist"}
    assert len(BY_CODE) == 13
