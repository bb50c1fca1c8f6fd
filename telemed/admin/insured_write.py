"""Writing an insured list's rows (for ``insured_apply``): the accounts of new adults, the patients,
policies and guardianships, updates of known people, and cancelling the consultations a policy
ended early no longer covers. Rows are written in chunks of ``CHUNK`` with multi-row statements.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from telemed.admin.insured_import import ADULT_RELATIONS, Existing, Row
from telemed.auth import invitations
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.roles import Role
from telemed.members.models import Guardianship, Patient, Policy, fold
from telemed.scheduling import notices, signals
from telemed.scheduling.models import Consultation, Status

CHUNK = 1000
#: What a member reads as the reason of a consultation cancelled because their policy ended.
POLICY_ENDED_REASON = "Полис ДМС закончился раньше срока консультации"


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def accounts_for(
    session: Session,
    rows: list[Row],
    existing: dict[str, Existing],
    linked: Mapping[str, int],
    *,
    now: datetime,
) -> dict[str, int]:
    """``{policy number: user id}`` of the people among ``rows`` who get an account now: those in
    ``linked`` without one yet (an existing link is never replaced), and a new, invited account for
    every other adult with an e-mail and none."""
    known = {
        number: user_id
        for number, user_id in linked.items()
        if number not in existing or existing[number].user_id is None
    }
    made = _new_accounts(session, rows, existing, skip=known.keys(), now=now)
    if made:
        invitations.invite_many(session, list(made.values()), now=now)
    return {**known, **made}


def _usernames(session: Session, wanted: list[tuple[str, str]]) -> dict[str, str]:
    """A free username for each (policy number, e-mail): the e-mail, else the policy number."""
    candidates = {c for pair in wanted for c in pair}
    taken: set[str] = set()
    for chunk in chunks(sorted(candidates)):
        taken.update(session.scalars(select(User.username).where(User.username.in_(chunk))))
    chosen: dict[str, str] = {}
    for number, email in wanted:
        name = next((c for c in (email, number) if c not in taken and len(c) <= 64), None)
        name = name or f"p{secrets.token_hex(8)}"
        taken.add(name)
        chosen[number] = name
    return chosen


def _new_accounts(
    session: Session, rows: list[Row], existing: dict[str, Existing], *, skip: Iterable[str], now: datetime
) -> dict[str, int]:
    """Accounts for adults with an e-mail and none yet (except the policies in ``skip``, linked to
    an account of the caller's); ``{policy number: user id}``."""
    skipped = set(skip)
    needing = [
        r
        for r in rows
        if r.relation in ADULT_RELATIONS
        and r.email
        and r.policy_number not in skipped
        and (r.policy_number not in existing or existing[r.policy_number].user_id is None)
    ]
    if not needing:
        return {}
    names = _usernames(session, [(r.policy_number, r.email) for r in needing])
    made: dict[str, int] = {}
    for chunk in chunks(needing):
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


def update(
    session: Session, rows: list[Row], existing: dict[str, Existing], accounts: dict[str, int]
) -> None:
    for chunk in chunks(rows):
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
        session.execute(sql_update(Patient), patients)
        session.execute(sql_update(Policy), policies)
        users = [
            {"id": o.user_id, "email": r.email}
            for r, o in zip(chunk, olds, strict=True)
            if o.user_id and r.email and r.email != o.email
        ]
        if users:
            session.execute(sql_update(User), users)
        linked = [
            {"id": o.patient_id, "user_id": accounts[r.policy_number]}
            for r, o in zip(chunk, olds, strict=True)
            if r.policy_number in accounts
        ]
        if linked:
            session.execute(sql_update(Patient), linked)


def create(
    session: Session,
    contract_id: int,
    rows: list[Row],
    existing: dict[str, Existing],
    accounts: dict[str, int],
    *,
    now: datetime,
) -> None:
    for chunk in chunks(rows):
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
    for chunk in chunks(sorted(ended)):
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
