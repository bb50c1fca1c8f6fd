"""The urgent queue's pure rules: the specialist, who may ask, the estimate, escalation, access."""

from datetime import date, timedelta

import pytest

from telemed import errors
from telemed.auth.actor import Actor
from telemed.catalog.specialties import BY_CODE
from telemed.members.rules import PolicyFacts
from telemed.urgent import access, rules

POLICY = PolicyFacts(
    valid_from=date(2026, 1, 1),
    valid_to=date(2026, 12, 31),
    contract_starts_on=date(2026, 1, 1),
    contract_ends_on=date(2026, 12, 31),
    telemedicine=True,
    covered_specialties=frozenset({"therapist", "pediatrician"}),
    psychologist_limit=3,
)


@pytest.mark.parametrize(
    ("birth", "day", "code"),
    [
        (date(2008, 3, 10), date(2026, 3, 10), "therapist"),  # 18 today
        (date(2008, 3, 11), date(2026, 3, 10), "pediatrician"),  # 18 tomorrow
        (date(1950, 1, 1), date(2026, 3, 10), "therapist"),
        (date(2026, 1, 1), date(2026, 3, 10), "pediatrician"),
    ],
)
def test_the_specialist_follows_the_age_on_the_day(birth, day, code):
    assert rules.specialty_for(birth, day) == code


def facts(**changes) -> rules.RequestFacts:
    base = {
        "requester_is_patient": True,
        "requester_is_guardian": False,
        "consent_accepted": True,
        "policy": POLICY,
        "specialty": BY_CODE["therapist"],
    }
    return rules.RequestFacts(**{**base, **changes})


def test_a_covered_patient_may_ask():
    rules.check_request(facts())
    rules.check_request(facts(requester_is_patient=False, requester_is_guardian=True))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"requester_is_patient": False, "consent_accepted": False, "policy": None}, errors.NotGuardian),
        ({"consent_accepted": False, "policy": None}, errors.ConsentRequired),
        ({"policy": None}, errors.PolicyInactive),
        ({"policy": PolicyFacts(**{**POLICY.__dict__, "telemedicine": False})}, errors.NotCovered),
        ({"specialty": BY_CODE["cardiologist"]}, errors.NotCovered),
    ],
)
def test_the_first_broken_rule_is_the_answer(changes, error):
    with pytest.raises(error):
        rules.check_request(facts(**changes))


def test_no_doctor_on_duty_no_estimate():
    assert rules.estimate(ahead=0, on_duty=0, busy=0, median_minutes=20) is None


@pytest.mark.parametrize(
    ("ahead", "on_duty", "busy", "median", "low", "high"),
    [
        (0, 1, 0, 20, 0, rules.PICKUP_MINUTES),  # a free doctor takes it soon
        (1, 2, 0, 20, 0, rules.PICKUP_MINUTES),
        (0, 1, 1, 20, 0, 20),  # the doctor finishes a visit first
        (1, 1, 1, 20, 20, 40),
        (2, 2, 2, 20, 20, 30),  # the third consultation to end among two doctors
        (2, 2, 0, 20, 0, 10),  # two free doctors take the first two
        (0, 1, 1, 2, 0, rules.PICKUP_MINUTES),  # never below the pick-up time
    ],
)
def test_the_estimate_range(ahead, on_duty, busy, median, low, high):
    assert rules.estimate(ahead=ahead, on_duty=on_duty, busy=busy, median_minutes=median) == rules.Estimate(
        low, high
    )


def test_the_estimate_grows_with_the_line_and_shrinks_with_doctors():
    def high(ahead, on_duty):
        return rules.estimate(ahead=ahead, on_duty=on_duty, busy=on_duty, median_minutes=30).high

    assert [high(n, 1) for n in range(4)] == sorted(high(n, 1) for n in range(4))
    assert high(5, 3) < high(5, 1)


def test_escalation_levels_by_waiting_time():
    after = timedelta(minutes=10)
    assert [rules.due_level(timedelta(minutes=m), after) for m in (0, 9, 10, 19, 20, 500)] == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]


@pytest.mark.parametrize(
    ("role", "specialty", "request_specialty", "allowed"),
    [
        ("doctor", "therapist", "therapist", True),
        ("doctor", "pediatrician", "pediatrician", True),
        ("doctor", "pediatrician", "therapist", False),
        ("doctor", "cardiologist", "therapist", False),
        ("doctor", None, "therapist", False),
        ("member", "therapist", "therapist", False),
        ("admin", None, "therapist", False),
    ],
)
def test_who_takes_requests(role, specialty, request_specialty, allowed):
    actor = Actor(id=1, role=role, name="x")
    assert access.may_claim(actor, specialty, request_specialty) is allowed
    assert access.is_urgent_doctor(actor, specialty) is (
        allowed or (role == "doctor" and specialty in ("therapist", "pediatrician"))
    )
