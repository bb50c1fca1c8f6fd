"""Doctors' schedules: the weekly template, exceptions (vacation, sick day) and slot generation.

Functions take a ``session`` and never commit. Generation is idempotent and safe with several
workers: slots are inserted with ``INSERT … ON CONFLICT DO NOTHING`` on the unique
``(doctor_id, starts_at)``, and a candidate overlapping an existing slot is skipped. Removing hours
(a new template, an exception) that hold booked consultations raises ``Conflict`` listing them
unless ``on_booked`` says what to do: ``keep`` them, or ``cancel`` them with a reason (each member
is told; a cancelled consultation no longer counts against any quota). Free slots in removed
hours are deleted.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, exists, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from telemed import errors
from telemed.admin import access, schedule_rules
from telemed.admin.schedule_models import ScheduleException, ScheduleTemplate
from telemed.admin.schedule_rules import HORIZON_DAYS, ON_BOOKED, Template
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.dates import iso
from telemed.db import UTCDateTime
from telemed.scheduling import service as scheduling
from telemed.scheduling.models import Consultation, Slot, Status
from telemed.translatable import _l

EXCEPTION_KINDS = ("vacation", "sick", "other")
REASON_MAX = 500
#: The worker regenerates a template's slots once they reach less than this far ahead.
REFRESH_MARGIN = timedelta(days=1)


def _doctor(session: Session, doctor_id: int) -> Doctor:
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise errors.NotFound(_l("Doctor not found."))
    return doctor


def template_of(session: Session, doctor_id: int) -> Template | None:
    row = session.get(ScheduleTemplate, doctor_id)
    return None if row is None else schedule_rules.from_row(row.slot_minutes, row.timezone, row.days)


def template_json(session: Session, doctor_id: int) -> dict | None:
    template = template_of(session, doctor_id)
    return None if template is None else template.as_dict()


def _days_off(
    session: Session, doctor_id: int, extra: Iterable[tuple[date, date]] = ()
) -> list[tuple[date, date]]:
    rows = session.execute(
        select(ScheduleException.first_day, ScheduleException.last_day).where(
            ScheduleException.doctor_id == doctor_id
        )
    ).all()
    return [(a, b) for a, b in rows] + list(extra)


def set_template(
    session: Session,
    actor: Actor,
    doctor_id: int,
    data: Any,
    *,
    now: datetime,
    default_zone: str,
    on_booked: str | None = None,
    reason: str = "",
) -> dict:
    """Replace the doctor's weekly template (validated, ``schedule_rules.parse_template``); future
    slots outside the new hours are removed as the module says. Returns ``{template, removed_slots,
    cancelled, kept}``."""
    access.check_admin(actor)
    _doctor(session, doctor_id)
    template = schedule_rules.parse_template(data, default_zone=default_zone)
    outcome = _remove_outside(
        session,
        actor,
        doctor_id,
        template,
        _days_off(session, doctor_id),
        now=now,
        on_booked=on_booked,
        reason=reason,
        regrid=True,
    )
    row = session.get(ScheduleTemplate, doctor_id)
    if row is None:
        row = ScheduleTemplate(doctor_id=doctor_id)
        session.add(row)
    row.slot_minutes, row.timezone, row.days = (
        template.slot_minutes,
        template.timezone,
        template.as_dict()["days"],
    )
    row.updated_at, row.generated_until = now, None  # the worker fills the horizon again
    session.flush()
    return {"template": template.as_dict(), **outcome}


def add_exception(
    session: Session,
    actor: Actor,
    doctor_id: int,
    *,
    first_day: date,
    last_day: date,
    kind: str,
    reason: str,
    now: datetime,
    on_booked: str | None = None,
) -> dict:
    """Add days off (``first_day`` to ``last_day`` inclusive, the template's zone); the doctor's
    future slots on them are removed as the module says (``reason`` is also the cancellation's)."""
    access.check_admin(actor)
    _doctor(session, doctor_id)
    if kind not in EXCEPTION_KINDS:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be one of %(choices)s.", name="kind", choices=", ".join(EXCEPTION_KINDS)),
            details={"field": "kind"},
        )
    if last_day < first_day or (last_day - first_day).days > 366:
        raise errors.ValidationFailed(
            _l("The last day must be on or after the first day, within a year."),
            details={"field": "last_day"},
        )
    if not reason:
        raise errors.ValidationFailed(
            _l("'%(name)s' is required.", name="reason"), details={"field": "reason"}
        )
    template = template_of(session, doctor_id)
    days_off = _days_off(session, doctor_id, [(first_day, last_day)])
    outcome = _remove_outside(
        session, actor, doctor_id, template, days_off, now=now, on_booked=on_booked, reason=reason
    )
    row = ScheduleException(
        doctor_id=doctor_id, first_day=first_day, last_day=last_day, kind=kind, reason=reason, created_at=now
    )
    session.add(row)
    session.flush()
    return {"exception": exception_json(row), **outcome}


def exception_json(e: ScheduleException) -> dict:
    return {
        "id": e.id,
        "first_day": e.first_day.isoformat(),
        "last_day": e.last_day.isoformat(),
        "kind": e.kind,
        "reason": e.reason,
    }


def exceptions_of(session: Session, doctor_id: int) -> list[ScheduleException]:
    return list(
        session.scalars(
            select(ScheduleException)
            .where(ScheduleException.doctor_id == doctor_id)
            .order_by(ScheduleException.first_day, ScheduleException.id)
        )
    )


def _remove_outside(
    session: Session,
    actor: Actor,
    doctor_id: int,
    template: Template | None,
    days_off: list[tuple[date, date]],
    *,
    now: datetime,
    on_booked: str | None,
    reason: str,
    regrid: bool = False,
) -> dict:
    if on_booked is not None and on_booked not in ON_BOOKED:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be one of %(choices)s.", name="on_booked", choices=", ".join(ON_BOOKED)),
            details={"field": "on_booked"},
        )
    rows = session.execute(
        select(Slot.id, Slot.starts_at, Slot.ends_at, Consultation.id.label("consultation_id"))
        .outerjoin(
            Consultation, and_(Consultation.slot_id == Slot.id, Consultation.status != Status.CANCELLED)
        )
        .where(Slot.doctor_id == doctor_id, Slot.starts_at > now)
        .order_by(Slot.starts_at)
    ).all()
    grid: set[datetime] | None = None
    if regrid and template is not None and rows:
        grid = {
            s
            for s, _ in schedule_rules.slots_between(
                template, start=now, end=rows[-1].starts_at + timedelta(seconds=1)
            )
        }
    outside = [r for r in rows if not schedule_rules.within_hours(template, r.starts_at, r.ends_at, days_off)]
    booked = [r for r in outside if r.consultation_id is not None]
    if booked and on_booked is None:
        raise errors.Conflict(
            _l(
                "Consultations are booked in the hours being removed: keep them or cancel them with a reason."
            ),
            details={
                "consultations": [{"id": r.consultation_id, "starts_at": iso(r.starts_at)} for r in booked]
            },
        )
    cancelled: list[int] = []
    if booked and on_booked == "cancel":
        if not reason:
            raise errors.ValidationFailed(
                _l("'%(name)s' is required.", name="reason"), details={"field": "reason"}
            )
        for r in booked:
            c = session.scalar(
                select(Consultation).where(Consultation.id == r.consultation_id).with_for_update()
            )
            if c is not None and c.status == Status.SCHEDULED:
                scheduling.mark_cancelled(session, c, by_user_id=actor.id, reason=reason, now=now)
                cancelled.append(c.id)
    off_grid = [r for r in rows if grid is not None and r.consultation_id is None and r.starts_at not in grid]
    doomed = {r.id for r in outside if r.consultation_id is None or r.consultation_id in cancelled}
    doomed |= {r.id for r in off_grid}
    if doomed:
        ids = sorted(doomed)
        # Cancelled consultations keep their own times and doctor; they let go of the slot row.
        session.execute(
            update(Consultation)
            .where(Consultation.slot_id.in_(ids), Consultation.status == Status.CANCELLED)
            .values(slot_id=None)
        )
        session.execute(delete(Slot).where(Slot.id.in_(ids)))
    kept = [r.consultation_id for r in booked if r.consultation_id not in cancelled]
    return {"removed_slots": len(doomed), "cancelled": cancelled, "kept": kept}


# --- generation ----------------------------------------------------------------------------------


def generate_for(
    session: Session, actor: Actor, doctor_id: int, *, now: datetime, days: int = HORIZON_DAYS
) -> int:
    """The admin generates one doctor's slots for ``days`` ahead; returns how many were created."""
    access.check_admin(actor)
    doctor = _doctor(session, doctor_id)
    if not 1 <= days <= schedule_rules.HORIZON_MAX:
        raise errors.ValidationFailed(
            _l("'days' must be 1 to %(hi)s.", hi=schedule_rules.HORIZON_MAX), details={"field": "days"}
        )
    if session.get(ScheduleTemplate, doctor_id) is None:
        raise errors.Conflict(_l("Set the doctor's weekly template first."))
    if not doctor.is_active:
        return 0
    return generate(session, now=now, days=days, doctor_ids=[doctor_id])


def _due():
    return and_(
        Doctor.is_active,
        or_(ScheduleTemplate.generated_until.is_(None), ScheduleTemplate.generated_until < _horizon_param()),
    )


def _horizon_param():
    return bindparam("due_before", type_=UTCDateTime())


def anything_due(session: Session, *, now: datetime, days: int = HORIZON_DAYS) -> bool:
    """Cheap read for the worker: does any active doctor's template fall short of the horizon?"""
    query = select(exists().where(ScheduleTemplate.doctor_id == Doctor.id, _due()))
    return bool(session.scalar(query, {"due_before": now + timedelta(days=days) - REFRESH_MARGIN}))


def generate_due(session: Session, *, now: datetime, days: int = HORIZON_DAYS, batch: int = 100) -> int:
    """The worker's job: generate the slots of up to ``batch`` templates that fall short."""
    ids = session.scalars(
        select(ScheduleTemplate.doctor_id)
        .join(Doctor, Doctor.id == ScheduleTemplate.doctor_id)
        .where(_due())
        .order_by(ScheduleTemplate.doctor_id)
        .limit(batch),
        {"due_before": now + timedelta(days=days) - REFRESH_MARGIN},
    ).all()
    return generate(session, now=now, days=days, doctor_ids=list(ids)) if ids else 0


def generate(
    session: Session, *, now: datetime, days: int = HORIZON_DAYS, doctor_ids: list[int] | None = None
) -> int:
    """Create the slots of the active doctors' templates (``doctor_ids``: only those) starting in
    ``(now, now + days]``, minus their exceptions; existing slots are untouched. Returns the number
    of slots created (by this call: a concurrent one's are not counted)."""
    end = now + timedelta(days=days)
    query = (
        select(ScheduleTemplate).join(Doctor, Doctor.id == ScheduleTemplate.doctor_id).where(Doctor.is_active)
    )
    if doctor_ids is not None:
        query = query.where(ScheduleTemplate.doctor_id.in_(doctor_ids))
    templates = list(session.scalars(query))
    if not templates:
        return 0
    ids = [t.doctor_id for t in templates]
    off: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for d, a, b in session.execute(
        select(ScheduleException.doctor_id, ScheduleException.first_day, ScheduleException.last_day).where(
            ScheduleException.doctor_id.in_(ids),
            ScheduleException.last_day >= (now - timedelta(days=2)).date(),
        )
    ):
        off[d].append((a, b))
    existing: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for d, s, e in session.execute(
        select(Slot.doctor_id, Slot.starts_at, Slot.ends_at)
        .where(Slot.doctor_id.in_(ids), Slot.starts_at < end, Slot.ends_at > now)
        .order_by(Slot.doctor_id, Slot.starts_at)
    ):
        existing[d].append((s, e))
    rows: list[dict] = []
    for t in templates:
        template = schedule_rules.from_row(t.slot_minutes, t.timezone, t.days)
        taken = existing.get(t.doctor_id, [])
        starts = [s for s, _ in taken]
        for s, e in schedule_rules.slots_between(
            template, start=now + timedelta(microseconds=1), end=end, days_off=off[t.doctor_id]
        ):
            if not _overlaps(taken, starts, s, e):
                rows.append({"doctor_id": t.doctor_id, "starts_at": s, "ends_at": e})
        t.generated_until = end
    created = _insert_slots(session, rows)
    session.flush()
    return created


def _overlaps(
    taken: list[tuple[datetime, datetime]], starts: list[datetime], s: datetime, e: datetime
) -> bool:
    i = bisect.bisect_left(starts, e)  # taken[:i] start before this slot ends
    return any(taken[j][1] > s for j in range(max(0, i - 3), i))


#: PostgreSQL: one statement per chunk over three arrays (far faster than a row of parameters each).
_PG_INSERT = text(
    "INSERT INTO slots (doctor_id, starts_at, ends_at) "
    "SELECT * FROM unnest(CAST(:doctors AS integer[]), CAST(:starts AS timestamptz[]), "
    "CAST(:ends AS timestamptz[])) ON CONFLICT (doctor_id, starts_at) DO NOTHING"
)


def _insert_slots(session: Session, rows: list[dict], chunk: int = 20_000) -> int:
    """Insert the slots, skipping those that exist (``ON CONFLICT DO NOTHING`` on the unique
    ``(doctor_id, starts_at)``: a concurrent worker's are skipped too); returns how many were new."""
    if not rows:
        return 0
    created = 0
    if session.get_bind().dialect.name == "postgresql":
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            params = {
                "doctors": [r["doctor_id"] for r in part],
                "starts": [r["starts_at"] for r in part],
                "ends": [r["ends_at"] for r in part],
            }
            created += session.execute(_PG_INSERT, params).rowcount  # type: ignore[attr-defined]
        return created
    table = cast(Table, Slot.__table__)
    for i in range(0, len(rows), chunk):
        stmt = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=["doctor_id", "starts_at"])
            .returning(table.c.id)
        )
        created += len(session.execute(stmt, rows[i : i + chunk]).all())
    return created
