"""Records staff's patient search: by name, birth date (ДД.ММ.ГГГГ or ISO) or policy number."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.members.models import Patient, Policy, fold
from telemed.records import access
from telemed.translatable import _l

#: A patient search's query: at least and at most this many characters (trimmed).
SEARCH_MIN, SEARCH_MAX = 2, 100
_DATE_RE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")


def search_patients(session: Session, actor: Actor, q: str, *, limit: int = 20) -> list[Patient]:
    """Records staff search by name, birth date (ДД.ММ.ГГГГ or ISO) or policy number."""
    if not access.may_search_patients(actor):
        raise errors.NotPermitted(_l("Only records staff search patients."))
    q = inputs.clean_text(q or "", "q", max_len=SEARCH_MAX)
    if len(q) < SEARCH_MIN:
        raise errors.ValidationFailed(_l("Type at least 2 characters."), details={"field": "q"})
    day = _parse_day(q)
    if day is not None:
        query = select(Patient).where(Patient.birth_date == day).order_by(Patient.name_search, Patient.id)
        return list(session.scalars(query.limit(limit).options(selectinload(Patient.policies))))
    # policy numbers first (unique btree index), so that the name condition below is an OR of two
    # bitmap-indexable conditions instead of "LIKE ... OR id IN (subquery)" (a per-row filter)
    upper = q.upper()
    policy_ids = list(
        session.scalars(
            select(Policy.patient_id)
            .where(Policy.number >= upper, Policy.number < upper + "\uffff")
            .order_by(Policy.number)
            .limit(100)
        )
    )
    # MATERIALIZED (PostgreSQL): collect the matches (trigram GIN index) and sort them, rather than
    # walk ix_patients_name_search in name order hoping to meet 20 matches early, which reads the
    # whole table when the matches are rare or clustered (a surname prefix, a policy number)
    matches = (
        select(Patient)
        .where(
            or_(
                Patient.name_search.like(f"%{inputs.escape_like(fold(q))}%", escape="\\"),
                Patient.id.in_(policy_ids),
            )
        )
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    found = aliased(Patient, matches)
    query = (
        select(found).order_by(found.name_search, found.id).limit(limit).options(selectinload(found.policies))
    )
    return list(session.scalars(query))


def _parse_day(q: str) -> date | None:
    match = _DATE_RE.match(q)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(q) if len(q) == 10 else None
    except ValueError:
        return None
