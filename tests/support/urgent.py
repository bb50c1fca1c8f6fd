"""The urgent queue's test world and shortcuts to its services."""

from __future__ import annotations

from datetime import UTC, date, datetime

from telemed.urgent import service as urgent
from telemed.urgent.settings import UrgentSettings
from tests.support.factories import actor


def world(factory) -> dict:
    """An adult member (anna) with a child, another adult member (boris), two therapists with
    accounts (drt1, drt2), a pediatrician (drp) and a cardiologist (drc)."""
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Kid", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    boris, boris_patient = factory.member("boris", contract=contract, birth_date=date(1980, 1, 1))
    return {
        "contract": contract,
        "anna": anna,
        "patient": patient,
        "child": child,
        "boris": boris,
        "boris_patient": boris_patient,
        "t1": factory.doctor("therapist", username="drt1", name="Therapist One"),
        "t2": factory.doctor("therapist", username="drt2", name="Therapist Two"),
        "ped": factory.doctor("pediatrician", username="drp", name="Pediatrician"),
        "card": factory.doctor("cardiologist", username="drc", name="Cardiologist"),
    }


def settings(app) -> UrgentSettings:
    return UrgentSettings.from_config(app.config)


def user_of(app, username: str):
    from sqlalchemy import select

    from telemed.auth.models import User

    with app.extensions["telemed.db"].session() as s:
        return s.scalar(select(User).where(User.username == username))


def ask(app, user, patient=None, *, reason: str = "", now: datetime | None = None) -> int:
    """An urgent request by ``user`` (for ``patient``, default their own); returns its id."""
    with app.extensions["telemed.db"].transaction() as s:
        c = urgent.request(
            s,
            actor(user),
            patient_id=patient.id if patient else None,
            reason=reason,
            now=now or datetime.now(UTC),
            settings=settings(app),
            consent_version=app.config["CONSENT_VERSION"],
        )
        return c.id


def claim(app, user, consultation_id: int, *, now: datetime | None = None):
    with app.extensions["telemed.db"].transaction() as s:
        c = urgent.claim(
            s, actor(user), consultation_id, now=now or datetime.now(UTC), settings=settings(app)
        )
        return c.status, c.doctor_id, c.starts_at, c.ends_at


def set_duty(app, user, on: bool = True, *, now: datetime | None = None):
    with app.extensions["telemed.db"].transaction() as s:
        return urgent.set_duty(s, actor(user), on, now=now or datetime.now(UTC), settings=settings(app))
