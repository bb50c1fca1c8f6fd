"""Contracts and their programmes, written by admins.

A programme's fields live on the ``contracts`` row, and the booking rules and the urgent queue read
that row when they decide (``members.service.to_facts``): a change applies to every request from
then on, while consultations already booked stay as they are (nothing here touches them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed import errors
from telemed.admin import access
from telemed.auth.actor import Actor
from telemed.catalog.specialties import CODES
from telemed.inputs import clean_text
from telemed.members.models import Contract
from telemed.translatable import _l

NUMBER_MAX = 64
CLIENT_MAX = 200
LIMIT_MAX = 100
FIELDS = (
    "number",
    "client",
    "starts_on",
    "ends_on",
    "telemedicine",
    "urgent",
    "covered_specialties",
    "psychologist_limit",
)


def _invalid(message, field: str) -> errors.DomainError:
    return errors.ValidationFailed(message, details={"field": field})


def _text(data: dict, field: str, max_len: int) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(_l("'%(name)s' is required.", name=field), field)
    return clean_text(value, field, max_len=max_len)


def _day(data: dict, field: str) -> date:
    value = data.get(field)
    if isinstance(value, date):
        return value
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year < 2200:
        raise _invalid(_l("'%(name)s' must be a date (YYYY-MM-DD).", name=field), field)
    return day


def _flag(data: dict, field: str) -> bool:
    value = data.get(field)
    if not isinstance(value, bool):
        raise _invalid(_l("'%(name)s' must be true or false.", name=field), field)
    return value


def _specialties(data: dict) -> list[str]:
    value = data.get("covered_specialties")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(_l("'covered_specialties' must be a list of specialties."), "covered_specialties")
    unknown = sorted(set(value) - set(CODES))
    if unknown:
        raise _invalid(
            _l("Unknown specialties: %(codes)s.", codes=", ".join(unknown)[:200]), "covered_specialties"
        )
    return [c for c in CODES if c in value]  # the catalogue's order, no duplicates


def _limit(data: dict) -> int:
    value = data.get("psychologist_limit")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LIMIT_MAX:
        raise _invalid(
            _l("'psychologist_limit' must be a whole number from 0 to %(max)s.", max=LIMIT_MAX),
            "psychologist_limit",
        )
    return value


_READERS = {
    "number": lambda d: _text(d, "number", NUMBER_MAX),
    "client": lambda d: _text(d, "client", CLIENT_MAX),
    "starts_on": lambda d: _day(d, "starts_on"),
    "ends_on": lambda d: _day(d, "ends_on"),
    "telemedicine": lambda d: _flag(d, "telemedicine"),
    "urgent": lambda d: _flag(d, "urgent"),
    "covered_specialties": _specialties,
    "psychologist_limit": _limit,
}
_DEFAULTS: dict[str, Any] = {"telemedicine": True, "urgent": True, "psychologist_limit": 3}


def _read(data: dict, *, partial: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.ValidationFailed(_l("Send a JSON object."))
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name in data:  # null is refused as every other wrong value
            values[name] = _READERS[name](data)
        elif not partial and name in _DEFAULTS:
            values[name] = _DEFAULTS[name]
        elif not partial:
            values[name] = _READERS[name](data)  # raises: required
    return values


def _check_term(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise _invalid(_l("The contract cannot end before it starts."), "ends_on")


def _check_number_free(session: Session, number: str, contract_id: int | None) -> None:
    taken = session.scalar(select(Contract.id).where(Contract.number == number))
    if taken is not None and taken != contract_id:
        raise errors.Conflict(_l("A contract with this number exists."), details={"field": "number"})


def create(session: Session, actor: Actor, data: dict) -> Contract:
    """A new contract with its programme; 409 ``conflict`` when the number is taken."""
    access.check_admin(actor)
    values = _read(data, partial=False)
    _check_term(values["starts_on"], values["ends_on"])
    _check_number_free(session, values["number"], None)
    contract = Contract(**values)
    session.add(contract)
    session.flush()
    return contract


def get(session: Session, actor: Actor, contract_id: int, *, lock: bool = False) -> Contract:
    access.check_admin(actor)
    stmt = select(Contract).where(Contract.id == contract_id)
    contract = session.scalar(stmt.with_for_update() if lock else stmt)
    if contract is None:
        raise errors.NotFound()
    return contract


def update(session: Session, actor: Actor, contract_id: int, data: dict) -> Contract:
    """Change any of the contract's fields (those sent); the members' entitlements follow from now
    on, their booked consultations stay."""
    contract = get(session, actor, contract_id, lock=True)
    values = _read(data, partial=True)
    _check_term(values.get("starts_on", contract.starts_on), values.get("ends_on", contract.ends_on))
    if "number" in values:
        _check_number_free(session, values["number"], contract.id)
    for name, value in values.items():
        setattr(contract, name, value)
    session.flush()
    return contract


def list_all(session: Session, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[Contract]:
    """Contracts, newest first."""
    access.check_admin(actor)
    return list(session.scalars(select(Contract).order_by(Contract.id.desc()).limit(limit).offset(offset)))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Contract)) or 0


def as_json(c: Contract) -> dict[str, Any]:
    return {
        "id": c.id,
        "number": c.number,
        "client": c.client,
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "telemedicine": c.telemedicine,
        "urgent": c.urgent,
        "covered_specialties": list(c.covered_specialties or []),
        "psychologist_limit": c.psychologist_limit,
    }
