"""Applying a checked insured list to a contract in the caller's transaction (see ``insured_import``).

New people become a patient and a policy (and, for adults with an e-mail, an account with an
unusable password and an invitation; for children, the guardianship of the main policy's holder);
known ones are updated when their name, birth date, dates or e-mail changed. A policy ended before
consultations it had booked cancels them with ``POLICY_ENDED_REASON`` and tells the member (a
cancelled consultation does not count against the psychologist limit). Existing policies are read in
one query; new rows are written in chunks of ``CHUNK`` with multi-row INSERTs.

``run(..., linked=...)`` links people to accounts the caller made beforehand instead of creating
and inviting new ones. Only ``telemed seed-demo`` passes it (its demo accounts have a published
password and fixed usernames, and must never be sent an invitation); the admin pages and API never do.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from telemed.admin import contracts
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
from telemed.auth import invitations
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.roles import Role
from telemed.members.models import Guardianship, Patient, Policy, fold
from telemed.scheduling import notices, signals
from telemed.scheduling.models import Consultation, Status

CHUNK = 1000
MAX_MB = 64  # the largest insured list taken (100,000 rows are about 12 MB as CSV)
XLSX_MAGIC = b"PK\x03\x04"
#: What a member reads as the reason of a consultation cancelled because their policy ended.
POLICY_ENDED_REASON = "Полис ДМС закончился раньше срока консультации"


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
        .execution_options(yield_per=CHUNK * 5)  # streamed: only the dict is kept
    )
    return {r[0]: Existing(r[1], r[2], r[3], r[4], r[5], r[6], r[7], (r[8] or "").lower()) for r in rows}


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def numbers_elsewhere(session: Session, contract_id: int, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` are policies of other contracts."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(numbers))):
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
    known = {  # only people without an account: an existing link is never replaced
        number: user_id
        for number, user_id in linked.items()
        if number not in existing or existing[number].user_id is None
    }
    made = _new_accounts(session, plan, existing, skip=known.keys(), now=now)  # policy number → user id
    accounts = {**known, **made}
    _update(session, plan.changed, existing, accounts)
    _create(session, contract_id, plan.new, existing, accounts, now=now)
    if made:
        invitations.invite_many(session, list(made.values()), now=now)
    ended = {
        existing[r.policy_number].patient_id: r.valid_to
        for r in plan.changed
        if r.valid_to is not None and r.valid_to < existing[r.policy_number].valid_to
    }
    return cancel_after_end(session, actor, contract_id, ended, now=now, tz=tz)


def _usernames(session: Session, wanted: list[tuple[str, str]]) -> dict[str, str]:
    """A free username for each (policy number, e-mail): the e-mail, else the policy number."""
    candidates = {c for pair in wanted for c in pair}
    taken: set[str] = set()
    for chunk in _chunks(sorted(candidates)):
        taken.update(session.scalars(select(User.username).where(User.username.in_(chunk))))
    chosen: dict[str, str] = {}
    for number, email in wanted:
        name = next((c for c in (email, number) if c not in taken and len(c) <= 64), None)
        name = name or f"p{secrets.token_hex(8)}"
        taken.add(name)
        chosen[number] = name
    return chosen


def _new_accounts(
    session: Session, plan: Plan, existing: dict[str, Existing], *, skip: Iterable[str], now: datetime
) -> dict[str, int]:
    """Accounts for adults with an e-mail and none yet (except the policies in ``skip``, linked to
    an account of the caller's); ``{policy number: user id}``."""
    skipped = set(skip)
    needing = [
        r
        for r in (*plan.new, *plan.changed)
        if r.relation in ADULT_RELATIONS
        and r.email
        and r.policy_number not in skipped
        and (r.policy_number not in existing or existing[r.policy_number].user_id is None)
    ]
    if not needing:
        return {}
    names = _usernames(session, [(r.policy_number, r.email) for r in needing])
    made: dict[str, int] = {}
    for chunk in _chunks(needing):
        values = [
            {
                "username": names[r.policy_number],
                "password_hash": invitations.unusable_password(),
                "role": Role.MEMBER.value,
                "full_name": r.full_name,
                "email": r.email,
                "is_active": True,
                "created_at": now,
            }
            for r in chunk
        ]
        ids = session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), values).all()
        made.update(zip((r.policy_number for r in chunk), ids, strict=True))
    return made


def _update(
    session: Session, rows: list[Row], existing: dict[str, Existing], accounts: dict[str, int]
) -> None:
    for chunk in _chunks(rows):
        olds = [existing[r.policy_number] for r in chunk]
        patients = [
            {
                "id": o.patient_id,
                "full_name": r.full_name,
                "name_search": fold(r.full_name),
                "birth_date": r.birth_date,
            }
            for r, o in zip(chunk, olds, strict=True)
        ]
        policies = [
            {"id": o.policy_id, "valid_from": r.valid_from, "valid_to": r.valid_to}
            for r, o in zip(chunk, olds, strict=True)
        ]
        session.execute(update(Patient), patients)
        session.execute(update(Policy), policies)
        users = [
            {"id": o.user_id, "email": r.email}
            for r, o in zip(chunk, olds, strict=True)
            if o.user_id and r.email and r.email != o.email
        ]
        if users:
            session.execute(update(User), users)
        linked = [
            {"id": o.patient_id, "user_id": accounts[r.policy_number]}
            for r, o in zip(chunk, olds, strict=True)
            if r.policy_number in accounts
        ]
        if linked:
            session.execute(update(Patient), linked)


def _create(
    session: Session,
    contract_id: int,
    rows: list[Row],
    existing: dict[str, Existing],
    accounts: dict[str, int],
    *,
    now: datetime,
) -> None:
    for chunk in _chunks(rows):
        patients = [
            {
                "user_id": accounts.get(r.policy_number),
                "full_name": r.full_name,
                "name_search": fold(r.full_name),
                "birth_date": r.birth_date,
                "created_at": now,
            }
            for r in chunk
        ]
        # Core, not the ORM's bulk insert: that leaves out None values, so rows with and without an
        # account would go in as many small statements.
        table = cast(Table, Patient.__table__)
        ids = (
            session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), patients)
            .scalars()
            .all()
        )
        session.execute(
            insert(Policy),
            [
                {
                    "number": r.policy_number,
                    "patient_id": pid,
                    "contract_id": contract_id,
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                }
                for r, pid in zip(chunk, ids, strict=True)
            ],
        )
        guardians = []
        for r, pid in zip(chunk, ids, strict=True):
            if r.relation != "child":
                continue
            main = existing.get(r.main_policy_number)
            guardian = accounts.get(r.main_policy_number) or (main.user_id if main else None)
            if guardian is not None:
                guardians.append({"guardian_user_id": guardian, "patient_id": pid, "relation": "parent"})
        if guardians:
            session.execute(insert(Guardianship), guardians)


def cancel_after_end(
    session: Session,
    actor: Actor,
    contract_id: int,
    ended: dict[int, date],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    """Cancel the consultations not yet started of patients whose policy now ends before their day
    (``ended``: patient id → the new last day); each member is told, with the reason."""
    count = 0
    for chunk in _chunks(sorted(ended)):
        ahead = session.scalars(
            select(Consultation)
            .where(
                Consultation.patient_id.in_(chunk),
                Consultation.contract_id == contract_id,
                Consultation.status.in_((Status.SCHEDULED, Status.WAITING)),
                Consultation.starts_at > now,
            )
            .order_by(Consultation.id)
            .with_for_update()
        ).all()
        for c in ahead:
            if c.starts_at.astimezone(tz).date() <= ended[c.patient_id]:
                continue
            previous = c.status
            c.status, c.cancelled_at, c.cancelled_by_id = Status.CANCELLED, now, actor.id
            c.cancel_reason = POLICY_ENDED_REASON
            session.flush()
            signals.status_changed.send(c, session=session, previous=previous, now=now)
            notices.cancelled(session, c, now=now)
            count += 1
    return count
