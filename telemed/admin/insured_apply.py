"""Applying a checked insured list to a contract in the caller's transaction (see ``insured_import``).

New people become a patient and a policy (and, for adults with an e-mail, an account with an
unusable password and an invitation; for children, the guardianship of the main policy's holder);
known ones are updated when their name, birth date, dates or e-mail changed. A policy ended before
consultations it had booked cancels them with ``POLICY_ENDED_REASON`` and tells the member (a
cancelled consultation does not count against the psychologist limit). Existing policies are read in
one query; the rows are written by ``insured_write``.

``run(..., linked=...)`` links people to accounts the caller made beforehand instead of creating
and inviting new ones. Only ``telemed seed-demo`` passes it (its demo accounts have a published
password and fixed usernames, and must never be sent an invitation); the admin pages and API never do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.admin import contracts
from telemed.admin import insured_write as write
from telemed.admin.insured_import import (
    ADULT_RELATIONS,
    BadFile,
    Existing,
    Row,
    RowError,
    check,
    iter_csv,
    iter_xlsx,
    read_rows,
)
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.members.models import Patient, Policy

MAX_MB = 64  # the largest insured list taken (100,000 rows are about 12 MB as CSV)
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Outcome:
    applied: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    cancelled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, list[object]]]:
    head = stream.read(4)
    stream.seek(0)
    return iter_xlsx(stream) if head == XLSX_MAGIC else iter_csv(stream)


def load_existing(session: Session, contract_id: int) -> dict[str, Existing]:
    """The contract's policies by number, in one query."""
    rows = session.execute(
        select(
            Policy.number,
            Policy.id,
            Policy.patient_id,
            Patient.user_id,
            Patient.full_name,
            Patient.birth_date,
            Policy.valid_from,
            Policy.valid_to,
            User.email,
        )
        .join(Patient, Patient.id == Policy.patient_id)
        .outerjoin(User, User.id == Patient.user_id)
        .where(Policy.contract_id == contract_id)
        .execution_options(yield_per=write.CHUNK * 5)  # streamed: only the dict is kept
    )
    return {r[0]: Existing(r[1], r[2], r[3], r[4], r[5], r[6], r[7], (r[8] or "").lower()) for r in rows}


def numbers_elsewhere(session: Session, contract_id: int, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` are policies of other contracts."""
    found: set[str] = set()
    for chunk in write.chunks(sorted(set(numbers))):
        found.update(
            session.scalars(
                select(Policy.number).where(Policy.number.in_(chunk), Policy.contract_id != contract_id)
            )
        )
    return found


def run(
    session: Session,
    actor: Actor,
    contract_id: int,
    stream: IO[bytes],
    *,
    dry_run: bool,
    now: datetime,
    tz: ZoneInfo | None = None,
    linked: Mapping[str, int] | None = None,
) -> Outcome:
    """Read, check and (unless ``dry_run`` or any row is bad) apply an insured list.

    ``linked`` (policy number → the id of an existing member account): those people, when they have
    no account yet, are linked to that account (and their children get it as guardian) instead of
    getting a new account and an invitation (see the module docstring: the demo seed only)."""
    contract = contracts.get(session, actor, contract_id, lock=not dry_run)
    outcome = Outcome()
    rows: list[Row] = []
    try:
        for item in read_rows(_lines(stream)):
            if isinstance(item, Row):
                rows.append(item)
            elif not outcome.errors or outcome.errors[-1].line != item.line:
                outcome.errors.append(item)
                outcome.rows += 1
            else:
                outcome.errors.append(item)
    except BadFile as exc:
        return Outcome(errors=[RowError(1, exc.reason)])
    outcome.rows += len(rows)
    existing = load_existing(session, contract.id)
    wrong = check(
        rows,
        existing=existing,
        elsewhere=numbers_elsewhere(session, contract.id, (r.policy_number for r in rows)),
    )
    outcome.errors = sorted(outcome.errors + wrong, key=lambda e: e.line)
    if outcome.errors:
        return outcome
    plan = _plan(rows, existing)
    outcome.created, outcome.updated = len(plan.new), len(plan.changed)
    outcome.unchanged = len(rows) - outcome.created - outcome.updated
    if not dry_run:
        outcome.cancelled = _apply(
            session,
            actor,
            contract.id,
            plan,
            existing,
            now=now,
            tz=tz or ZoneInfo("UTC"),
            linked=linked or {},
        )
        outcome.applied = True
    return outcome


@dataclass
class Plan:
    new: list[Row] = field(default_factory=list)
    changed: list[Row] = field(default_factory=list)


def _differs(row: Row, old: Existing) -> bool:
    return (
        row.full_name != old.full_name
        or row.birth_date != old.birth_date
        or row.valid_from != old.valid_from
        or row.valid_to != old.valid_to
        or bool(row.email and row.email != old.email and (old.user_id or row.relation in ADULT_RELATIONS))
    )


def _plan(rows: list[Row], existing: dict[str, Existing]) -> Plan:
    plan = Plan()
    for row in rows:
        old = existing.get(row.policy_number)
        if old is None:
            plan.new.append(row)
        elif _differs(row, old):
            plan.changed.append(row)
    return plan


def _apply(
    session: Session,
    actor: Actor,
    contract_id: int,
    plan: Plan,
    existing: dict[str, Existing],
    *,
    now: datetime,
    tz: ZoneInfo,
    linked: Mapping[str, int],
) -> int:
    accounts = write.accounts_for(session, [*plan.new, *plan.changed], existing, linked, now=now)
    write.update(session, plan.changed, existing, accounts)
    write.create(session, contract_id, plan.new, existing, accounts, now=now)
    ended = {
        existing[r.policy_number].patient_id: r.valid_to
        for r in plan.changed
        if r.valid_to is not None and r.valid_to < existing[r.policy_number].valid_to
    }
    return write.cancel_after_end(session, actor, contract_id, ended, now=now, tz=tz)
