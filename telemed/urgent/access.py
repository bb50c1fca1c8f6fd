"""Who may do what in the urgent queue: pure decisions over facts already loaded.

Requests follow the booking's rules (``urgent.rules.check_request``); a request is party-only
like any consultation (``scheduling.parties``) until a doctor takes it.
"""

from __future__ import annotations

from telemed import errors
from telemed.auth.actor import Actor
from telemed.catalog.specialties import URGENT_CODES
from telemed.translatable import _l


def is_urgent_doctor(actor: Actor, specialty: str | None) -> bool:
    """A doctor of an urgent specialty (therapist, pediatrician); ``specialty`` is their doctor
    row's, None without one."""
    return actor.is_doctor and specialty in URGENT_CODES


def check_urgent_doctor(actor: Actor, specialty: str | None) -> None:
    """Duty and the queue are for therapists and pediatricians: ``NotPermitted`` for anyone else."""
    if not is_urgent_doctor(actor, specialty):
        raise errors.NotPermitted(_l("Only therapists and pediatricians take urgent requests."))


def may_claim(actor: Actor, doctor_specialty: str | None, request_specialty: str) -> bool:
    """A doctor takes requests of their own specialty only (others are told it does not exist)."""
    return is_urgent_doctor(actor, doctor_specialty) and doctor_specialty == request_specialty
