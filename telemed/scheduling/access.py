"""Who may do what to a consultation: pure decisions over facts already loaded.

Being *party* to a consultation (its booker, patient, a guardian of the patient, or its doctor) is
the gate for everything else and is decided in SQL by ``scheduling.parties``; a stranger gets
``NotFound``. The decisions here take a consultation the actor is party to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from telemed import errors
from telemed.auth.actor import Actor
from telemed.scheduling.rules import can_cancel
from telemed.scheduling.status import Status
from telemed.translatable import _l

REASON_MAX = 2000


class _DoctorRef(Protocol):
    @property
    def user_id(self) -> int | None: ...  # a doctor without an account has None


class ConsultationFacts(Protocol):
    """What these rules read of a consultation (an ORM ``Consultation`` qualifies)."""

    @property
    def status(self) -> str: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def doctor(self) -> _DoctorRef | None: ...  # None: an urgent request nobody has taken yet


def is_doctor_of(actor: Actor, c: ConsultationFacts) -> bool:
    """The actor is the consultation's doctor."""
    return actor.is_doctor and c.doctor is not None and c.doctor.user_id == actor.id


def conclusion_pending(status: str, conclusion_state: str | None) -> bool:
    """The consultation is under way or held and its conclusion is not signed yet (the doctor's
    "conclusion pending" list); ``conclusion_state``: None, "draft" or "signed"."""
    return status in (Status.IN_PROGRESS, Status.COMPLETED) and conclusion_state != "signed"


def has_schedule(actor: Actor) -> bool:
    """Doctors have a schedule of their consultations; nobody else has one."""
    return actor.is_doctor


def may_run_precall_check(actor: Actor) -> bool:
    """The pre-call device check is offered to the member side (doctors use their own equipment check)."""
    return not actor.is_doctor


def may_cancel(actor: Actor, c: ConsultationFacts, now: datetime) -> bool:
    """Before the start, while scheduled: the member side always, the doctor with a written reason.
    An urgent request while it waits (it has no doctor yet, so only the member side is party)."""
    return can_cancel(c.status, c.starts_at, now)


def may_finish(actor: Actor, c: ConsultationFacts) -> bool:
    """The consultation's doctor ends the visit explicitly, while it is in progress."""
    return is_doctor_of(actor, c) and c.status == Status.IN_PROGRESS


def check_finish(actor: Actor, c: ConsultationFacts) -> None:
    """Raise why the actor may not finish the visit (``NotPermitted``, ``NotInProgress``)."""
    if not is_doctor_of(actor, c):
        raise errors.NotPermitted(_l("Only the consultation's doctor ends the visit."))
    if not may_finish(actor, c):
        raise errors.NotInProgress()


def cancel_reason_required(actor: Actor, c: ConsultationFacts) -> bool:
    """The doctor cancels only with a reason the member will read; the member side needs none."""
    return is_doctor_of(actor, c)


def check_cancel(actor: Actor, c: ConsultationFacts, now: datetime, reason: str) -> None:
    """Raise why the actor may not cancel now with ``reason`` (``NotCancellable``, ``ValidationFailed``)."""
    if not may_cancel(actor, c, now):
        raise errors.NotCancellable()
    if cancel_reason_required(actor, c) and not reason:
        raise errors.ValidationFailed(
            _l("Write the reason for cancelling: the patient will read it."), details={"field": "reason"}
        )
