"""Fictional demo data (``telemed seed-demo``), made the way an operator makes a real world: through
the admin area's services, as the demo ``admin`` account, each write audited as the admin pages and
API audit it (``contract`` write and import, ``doctor`` write, ``schedule`` write):

* the contract and its programme: ``admin.contracts.create``;
* the insured people and their policies (``member``, her child as a dependant with ``member`` as
  guardian, ``member2``): the insured-list import the admin API runs (``admin.insured_apply.run``) on
  an in-memory CSV in the documented format;
* the doctors' profiles: ``admin.doctors.create``; their weekly hours and 14 days of slots:
  ``admin.schedules``.

The accounts come first, from ``auth.service.create_user``: demo accounts have fixed usernames and the
published password ``demo`` (staff also the authenticator secret ``DEMO_SECRET``), so none of them
may get an invitation. ``admin.users.create_staff`` always invites, and the import would create
and invite new accounts of its own; so the import is given the members' accounts to link to instead
(``run(..., linked=...)``, an option only this seed uses, never the admin pages or API).

Idempotent, and it only adds what is missing: a contract, policy, doctor or weekly template that
exists is left as it is (an operator's change survives a re-run; ``contracts.update`` is never
called), and the slots of days that came into the window since are generated.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.admin import contracts, insured_apply, schedules
from telemed.admin import doctors as admin_doctors
from telemed.admin.insured_import import COLUMNS
from telemed.auth import second_factor
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.otp import DEMO_SECRET
from telemed.auth.roles import Role
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import CODES
from telemed.db import utcnow
from telemed.members.models import Contract, Patient, Policy
from telemed.records import audit
from telemed.records.audit_keys import AuditKeys
from telemed.seed_data import AROUND_THE_CLOCK, CONTRACT, DOCTORS, INSURED, SLOT_MINUTES, STAFF
from telemed.seed_history import seed_history

PASSWORD = "demo"
DATE_FORMAT = "%d.%m.%Y"  # the insured list's dates


@dataclass(frozen=True)
class Operator:
    """The demo ``admin`` account as the admin services see it, and the audit log its writes go to."""

    session: Session
    actor: Actor
    keys: AuditKeys

    def audit(self, object_type: str, object_id: int, action: str = "write") -> None:
        """Log one write as the admin API's ``audited(...)`` does (in the seed's transaction)."""
        audit.append(
            self.session,
            self.keys,
            actor=self.actor,
            patient_id=None,
            object_type=object_type,
            object_id=object_id,
            action=action,
            outcome="allowed",
            client_addr=None,
            now=utcnow(),
        )


def _user(s, passwords, username: str, role: str, full_name: str, email: str | None = None) -> User:
    """The demo account, created when missing (password ``demo``, no invitation); staff are enrolled
    with the authenticator secret ``DEMO_SECRET`` (published in the README, so demos and automated
    clients can log in). An existing account is left as it is."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        user = auth_service.create_user(
            s, passwords, username=username, password=PASSWORD, role=role, full_name=full_name, email=email
        )
        if second_factor.required_by_role(role):
            second_factor.enrol_with_secret(s, user.id, DEMO_SECRET, now=utcnow())
    return user


def _member(s, passwords, username: str, full_name: str, email: str, consent_version: str) -> User:
    """A demo member, created with the personal-data consent accepted (once: a consent withdrawn
    since stays withdrawn)."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        user = _user(s, passwords, username, Role.MEMBER, full_name, email or None)
        auth_service.accept_consent(
            s, user.id, version=consent_version, current_version=consent_version, now=utcnow()
        )
    return user


def seed_contract(op: Operator, *, today: date) -> Contract:
    """The demo contract, created with its programme when missing; an existing one is not changed."""
    contract = op.session.scalar(select(Contract).where(Contract.number == CONTRACT["number"]))
    if contract is None:
        data = {
            **CONTRACT,
            "starts_on": date(today.year, 1, 1).isoformat(),
            "ends_on": date(today.year + 1, 12, 31).isoformat(),
            "covered_specialties": list(CODES),
        }
        contract = contracts.create(op.session, op.actor, data)
        op.audit("contract", contract.id)
    return contract


def insured_csv(rows: list[tuple], contract: Contract) -> io.BytesIO:
    """The insured list of ``rows`` (``seed_data.INSURED``) as the employer's CSV file, covered for the
    contract's term."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    term = (contract.starts_on.strftime(DATE_FORMAT), contract.ends_on.strftime(DATE_FORMAT))
    for number, name, birth, _sex, relation, main, email, _username in rows:
        writer.writerow((number, name, birth.strftime(DATE_FORMAT), relation, main, *term, email))
    return io.BytesIO(text.getvalue().encode("utf-8"))


def seed_insured(op: Operator, contract: Contract, accounts: dict[str, User], *, tz: ZoneInfo) -> None:
    """Import the demo's insured people whose policy does not exist yet (so a re-run changes nobody an
    operator edited since), linking the members to their demo ``accounts`` (by username)."""
    s = op.session
    missing = [r for r in INSURED if s.scalar(select(Policy.id).where(Policy.number == r[0])) is None]
    if not missing:
        return
    outcome = insured_apply.run(
        s,
        op.actor,
        contract.id,
        insured_csv(missing, contract),
        dry_run=False,
        now=utcnow(),
        tz=tz,
        linked={r[0]: accounts[r[7]].id for r in missing if r[7]},
    )
    if not outcome.applied:
        raise RuntimeError(f"the demo's insured list was refused: {outcome.as_dict()['errors']}")
    op.audit("contract", contract.id, "import")
    for number, _name, _birth, sex, *_ in missing:  # the list has no sex column
        patient_of(s, number).sex = sex


def patient_of(s: Session, policy_number: str) -> Patient:
    return s.scalars(
        select(Patient).join(Policy, Policy.patient_id == Patient.id).where(Policy.number == policy_number)
    ).one()


def seed_doctors(op: Operator, passwords, *, today: date) -> list[Doctor]:
    """The demo doctors (``seed_data.DOCTORS``); a missing one is created with its account, if it has
    one, and its profile (``admin.doctors.create``). An existing profile is not changed."""
    found = []
    for code, name, year, education, degree, username in DOCTORS:
        doctor = op.session.scalar(select(Doctor).where(Doctor.full_name == name))
        if doctor is None:
            account = _user(op.session, passwords, username, Role.DOCTOR, name) if username else None
            profile = {
                "full_name": name,
                "specialty": code,
                "career_start": date(year, 9, 1).isoformat(),
                "education": education,
                "degree": degree,
                "user_id": account.id if account else None,
            }
            doctor = admin_doctors.create(op.session, op.actor, profile, today=today)
            op.audit("doctor", doctor.id)
        found.append(doctor)
    return found


def _template(code: str) -> dict:
    """The demo's weekly hours: therapists and pediatricians around the clock, others 9 to 18."""
    start, end = ("00:00", "24:00") if code in AROUND_THE_CLOCK else ("09:00", "18:00")
    return {
        "slot_minutes": SLOT_MINUTES,
        "days": [{"weekday": d, "start": start, "end": end} for d in range(7)],
    }


def seed_slots(op: Operator, doctors: list[Doctor], *, start_day: date, days: int, tz: ZoneInfo) -> int:
    """Give each doctor without a template the demo's weekly hours, and generate the missing slots
    of ``days`` days from ``start_day`` through the admin area's services (``admin.schedules``);
    returns how many were added."""
    s = op.session
    midnight = datetime.combine(start_day, time.min, tzinfo=tz)
    for doctor in doctors:
        if schedules.template_of(s, doctor.id) is None:
            hours = _template(doctor.specialty_code)
            schedules.set_template(s, op.actor, doctor.id, hours, now=midnight, default_zone=tz.key)
            op.audit("schedule", doctor.id)
    # The window starts at the day's midnight (not now), so a second run the same day adds nothing.
    return schedules.generate(
        s, now=midnight - timedelta(microseconds=1), days=days, doctor_ids=[d.id for d in doctors]
    )


def seed_demo(app, *, days: int = 14) -> dict[str, int]:
    """Create the demo world, or add what is missing of it; returns counts of what exists afterwards."""
    passwords = app.extensions["telemed.passwords"]
    tz = ZoneInfo(app.config["CLINIC_TIMEZONE"])
    version = app.config["CONSENT_VERSION"]
    today = utcnow().astimezone(tz).date()
    with app.extensions["telemed.db"].transaction() as s:
        members = {
            username: _member(s, passwords, username, name, email, version)
            for _number, name, _birth, _sex, _rel, _main, email, username in INSURED
            if username
        }
        staff = {u: _user(s, passwords, u, role, name) for u, role, name in STAFF}
        admin = staff["admin"]
        op = Operator(
            s, Actor(id=admin.id, role=admin.role, name=admin.full_name), app.extensions["telemed.audit_keys"]
        )
        contract = seed_contract(op, today=today)
        seed_insured(op, contract, members, tz=tz)
        doctors = seed_doctors(op, passwords, today=today)
        added = seed_slots(op, doctors, start_day=today, days=days, tz=tz)
        seed_history(s, patient_of(s, INSURED[0][0]), members["member"], contract, doctors[0], tz)
    return {
        "doctors": len(doctors),
        "slots_added": added,
        "accounts": len(members) + len(STAFF) + sum(1 for *_, username in DOCTORS if username),
    }
