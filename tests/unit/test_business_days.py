"""One business day by the Russian production calendar: weekends, public holidays, days off moved by
decree and working Saturdays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from telemed.opinions import business_days, rules

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 1), True),  # a Tuesday
        (date(2026, 12, 5), False),  # a Saturday
        (date(2026, 1, 9), False),  # the day off moved from 3 January
        (date(2026, 12, 31), False),  # the day off moved from 4 January
        (date(2025, 11, 1), True),  # a working Saturday
        (date(2026, 11, 4), False),  # Unity Day
    ],
)
def test_the_production_calendar(day, working):
    assert business_days.is_working_day(day) is working


@pytest.mark.parametrize(
    ("submitted", "due_day"),
    [
        (datetime(2026, 12, 1, 10, 0, tzinfo=MSK), date(2026, 12, 2)),  # Tuesday → Wednesday
        (datetime(2026, 12, 4, 15, 0, tzinfo=MSK), date(2026, 12, 7)),  # Friday → Monday
        (datetime(2026, 12, 5, 15, 0, tzinfo=MSK), date(2026, 12, 7)),  # Saturday → Monday
        (datetime(2026, 12, 30, 12, 0, tzinfo=MSK), date(2027, 1, 11)),  # over the New Year holidays
        (datetime(2026, 12, 1, 22, 30, tzinfo=UTC), date(2026, 12, 3)),  # already 2 December in Moscow
        (datetime(2025, 10, 31, 12, 0, tzinfo=MSK), date(2025, 11, 1)),  # the working Saturday
    ],
)
def test_a_curator_contacts_the_member_within_one_business_day(submitted, due_day):
    due = business_days.contact_deadline(submitted, MSK)
    assert due.date() == due_day and (due.hour, due.minute) == (23, 59) and due.tzinfo == MSK


def test_once_per_condition_means_per_icd10_category_and_steps_go_one_at_a_time():
    assert rules.category("J06.9") == rules.category("J06.0") == "J06" != rules.category("J20.9")
    assert rules.may_move("submitted", "contacted") and not rules.may_move("submitted", "in_review")
    assert rules.may_move("report_issued", "closed") and not rules.may_move("closed", "submitted")


def test_who_adds_documents_to_a_request_and_until_when():
    assert rules.takes_documents("in_review", by_curator=False)
    assert not rules.takes_documents("report_issued", by_curator=False)
    assert rules.takes_documents("report_issued", by_curator=True)
    assert not rules.takes_documents("closed", by_curator=True)
