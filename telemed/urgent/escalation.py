"""Escalation of requests nobody takes, run by the worker (``telemed worker``).

A request still waiting ``escalate_after`` after it was made rises to level 1: every doctor of
the specialty (on duty or not) is alerted and the queue flags it. At twice that time, level 2:
its member is offered the earliest free planned slot of the specialty, keeping the place in the
queue. A request that nobody can take (no doctor of the specialty on duty, and the duty roster
keeps a plan for it that has nobody on duty now) does not wait for the first step: it rises to
level 1 at the worker's next run, so every doctor of the specialty hears of it at once. Each step is one transaction that locks the request's consultation (still waiting), moves
the level on with a conditional UPDATE (``level = step - 1``), and only if that changed a row
appends the audit row and writes the notices. So several workers may run the same due step at
once: exactly one does it, and a step is never done twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from telemed.catalog.specialties import URGENT_CODES
from telemed.db import Database
from telemed.records import audit
from telemed.records.audit_keys import AuditKeys
from telemed.scheduling.models import Consultation, Mode, Status
from telemed.urgent import duty, notices, queue, roster, rules
from telemed.urgent.models import UrgentRequest
from telemed.urgent.notices import Action
from telemed.urgent.settings import UrgentSettings


def escalate_due(db: Database, keys: AuditKeys, *, now: datetime, settings: UrgentSettings) -> int:
    """Run every escalation step due at ``now`` (a request overdue for both runs both, in order);
    returns how many steps this call did."""
    with db.session() as s:
        due = s.execute(
            select(Consultation.id, Consultation.created_at, UrgentRequest.escalation_level)
            .join(UrgentRequest, UrgentRequest.consultation_id == Consultation.id)
            .where(
                Consultation.mode == Mode.URGENT,
                Consultation.status == Status.WAITING,
                Consultation.created_at <= now - settings.escalate_after,
                UrgentRequest.escalation_level < rules.MAX_LEVEL,
            )
            .order_by(Consultation.created_at, Consultation.id)
        ).all()
        uncovered = _uncovered(s, now=now, settings=settings)
        early = (
            s.scalars(
                select(Consultation.id)
                .join(UrgentRequest, UrgentRequest.consultation_id == Consultation.id)
                .where(
                    Consultation.mode == Mode.URGENT,
                    Consultation.status == Status.WAITING,
                    Consultation.specialty_code.in_(uncovered),
                    Consultation.created_at > now - settings.escalate_after,
                    UrgentRequest.escalation_level == 0,
                )
                .order_by(Consultation.created_at, Consultation.id)
            ).all()
            if uncovered
            else []
        )
    done = 0
    for consultation_id, created_at, level in due:
        target = rules.due_level(now - created_at, settings.escalate_after)
        for step in range(level + 1, target + 1):
            if not step_up(db, keys, consultation_id, step, now=now, settings=settings):
                break
            done += 1
    for consultation_id in early:
        done += step_up(db, keys, consultation_id, 1, now=now, settings=settings)
    return done


def _uncovered(s, *, now: datetime, settings: UrgentSettings) -> list[str]:
    """The urgent specialties nobody can take a request of now: no doctor on duty, and a roster
    kept that plans nobody at this moment (a clinic without a roster is judged by time alone)."""
    return [
        code
        for code in URGENT_CODES
        if duty.counts(s, code, now=now, grace=settings.grace)[0] == 0
        and roster.gap_now(s, code, now=now) is not None
    ]


def step_up(
    db: Database,
    keys: AuditKeys,
    consultation_id: int,
    level: int,
    *,
    now: datetime,
    settings: UrgentSettings,
) -> bool:
    """Raise the waiting request to ``level`` from ``level - 1``, once; False when it is no longer
    waiting or another worker did it."""
    with db.transaction() as s:
        c = s.scalar(
            select(Consultation)
            .where(Consultation.id == consultation_id, Consultation.status == Status.WAITING)
            .with_for_update()
        )
        if c is None:
            return False
        moved = s.execute(
            update(UrgentRequest)
            .where(
                UrgentRequest.consultation_id == consultation_id,
                UrgentRequest.escalation_level == level - 1,
            )
            .values({"escalation_level": level, f"level{level}_at": now})
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return False
        audit.append(
            s,
            keys,
            actor=None,
            system=True,
            patient_id=None,
            object_type="urgent_request",
            object_id=consultation_id,
            action=f"escalate_{level}",
            outcome="done",
            client_addr=None,
            now=now,
        )
        notices.tell_doctors(s, Action.ESCALATED, c, level, now=now, settings=settings)
        notices.tell_member(s, c, queue.state_of(s, c, now=now, settings=settings), now=now)
    return True
