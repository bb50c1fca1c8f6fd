"""Facts about insured people as pure functions: ages, and which policy applies on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from telemed.catalog.specialties import ADULT_AGE
from telemed.dates import whole_years


@dataclass(frozen=True)
class PolicyFacts:
    """A policy of the patient with the programme of its contract."""

    valid_from: date
    valid_to: date
    contract_starts_on: date
    contract_ends_on: date
    telemedicine: bool
    covered_specialties: frozenset[str]
    psychologist_limit: int
    urgent: bool = True  # the programme includes urgent (on-demand) consultations

    def active_on(self, day: date) -> bool:
        return (
            self.valid_from <= day <= self.valid_to
            and self.contract_starts_on <= day <= self.contract_ends_on
        )


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (a 29 February birthday counts from 1 March)."""
    return whole_years(birth_date, day)


def is_adult_on(birth_date: date, day: date) -> bool:
    return age_on(birth_date, day) >= ADULT_AGE


def pick_policy(policies: list[PolicyFacts], day: date) -> PolicyFacts | None:
    """The policy active on ``day``; if several, the one with telemedicine and the latest end."""
    active = [p for p in policies if p.active_on(day)]
    if not active:
        return None
    return max(active, key=lambda p: (p.telemedicine, p.valid_to))
