"""Test data factories: each call commits and returns detached rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

from telemed.auth import second_factor
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import CODES
from telemed.members.models import Contract, Guardianship, Patient, Policy
from telemed.scheduling.models import Slot
from tests.support import otp

PASSWORD = "secret-pass"


def next_slot_start(days: int = 1, hour: int = 10) -> datetime:
    base = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days)


class Factory:
    def __init__(self, app):
        self.app = app
        self.db = app.extensions["telemed.db"]
        self.passwords = app.extensions["telemed.passwords"]
        self.version = app.config["CONSENT_VERSION"]
        self._seq = count(1)

    def contract(
        self,
        *,
        specialties=CODES,
        telemedicine=True,
        psychologist_limit=3,
        starts_on: date | None = None,
        ends_on: date | None = None,
    ) -> Contract:
        today = date.today()
        with self.db.transaction() as s:
            c = Contract(
                number=f"C-{next(self._seq)}",
                client="Test LLC",
                starts_on=starts_on or today - timedelta(days=365),
                ends_on=ends_on or today + timedelta(days=365),
                telemedicine=telemedicine,
                covered_specialties=list(specialties),
                psychologist_limit=psychologist_limit,
            )
            s.add(c)
        return c

    def user(
        self,
        username: str | None = None,
        *,
        role: str = "member",
        name: str | None = None,
        consent: bool = True,
        otp_secret: str | None = otp.SECRET,
    ):
        """An account with ``PASSWORD``; staff are enrolled with the authenticator ``otp_secret``
        (``tests.support.otp``), unless it is None."""
        username = username or f"user{next(self._seq)}"
        with self.db.transaction() as s:
            u = auth_service.create_user(
                s,
                self.passwords,
                username=username,
                password=PASSWORD,
                role=role,
                full_name=name or username.title(),
            )
            if consent:
                auth_service.accept_consent(
                    s, u.id, version=self.version, current_version=self.version, now=datetime.now(UTC)
                )
            if otp_secret and second_factor.required_by_role(role):
                second_factor.enrol_with_secret(s, u.id, otp_secret, now=datetime.now(UTC))
        return u

    def patient(
        self,
        *,
        name: str = "Patient",
        birth_date: date = date(1990, 5, 17),
        user=None,
        guardian=None,
        contract: Contract | None = None,
        policy_from: date | None = None,
        policy_to: date | None = None,
    ) -> Patient:
        with self.db.transaction() as s:
            p = Patient(full_name=name, birth_date=birth_date, user_id=user.id if user else None)
            s.add(p)
            s.flush()
            if guardian is not None:
                s.add(Guardianship(guardian_user_id=guardian.id, patient_id=p.id))
            if contract is not None:
                s.add(
                    Policy(
                        number=f"P-{next(self._seq)}",
                        patient_id=p.id,
                        contract_id=contract.id,
                        valid_from=policy_from or contract.starts_on,
                        valid_to=policy_to or contract.ends_on,
                    )
                )
        return p

    def member(
        self,
        username: str | None = None,
        *,
        birth_date: date = date(1990, 5, 17),
        contract: Contract | None = None,
        consent: bool = True,
        **policy,
    ):
        """A member account with its own patient record and (given a contract) a policy."""
        u = self.user(username, consent=consent)
        p = self.patient(name=u.full_name, birth_date=birth_date, user=u, contract=contract, **policy)
        return u, p

    def doctor(
        self,
        specialty: str = "therapist",
        *,
        career_start: date = date(2010, 9, 1),
        name: str | None = None,
        username: str | None = None,
        active: bool = True,
    ) -> Doctor:
        name = name or f"Dr {next(self._seq)}"
        account = self.user(username, role="doctor", consent=False, name=name) if username else None
        with self.db.transaction() as s:
            d = Doctor(
                full_name=name,
                specialty_code=specialty,
                career_start=career_start,
                education="Medical University",
                degree=None,
                user_id=account.id if account else None,
                is_active=active,
            )
            s.add(d)
        return d

    def slot(self, doctor: Doctor, start: datetime | None = None, minutes: int = 30) -> Slot:
        start = start or next_slot_start() + timedelta(hours=next(self._seq))  # distinct by default
        with self.db.transaction() as s:
            sl = Slot(doctor_id=doctor.id, starts_at=start, ends_at=start + timedelta(minutes=minutes))
            s.add(sl)
        return sl

    def slots(
        self, doctor: Doctor, n: int, *, start: datetime | None = None, minutes: int = 30
    ) -> list[Slot]:
        start = start or next_slot_start()
        return [self.slot(doctor, start + timedelta(minutes=minutes * i), minutes) for i in range(n)]


def actor(user) -> Actor:
    return Actor(id=user.id, role=user.role, name=user.full_name)


def make_consultation(
    factory: Factory,
    user,
    patient,
    doctor,
    contract,
    *,
    start: datetime | None = None,
    minutes: int = 30,
    status: str = "scheduled",
):
    """A consultation written directly (any time, any status), bypassing the booking rules."""
    from telemed.scheduling.models import Consultation

    slot = factory.slot(doctor, start, minutes)
    with factory.db.transaction() as s:
        c = Consultation(
            patient_id=patient.id,
            booked_by_id=user.id,
            doctor_id=doctor.id,
            slot_id=slot.id,
            contract_id=contract.id,
            specialty_code=doctor.specialty_code,
            mode="planned",
            status=status,
            reason="",
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
        s.add(c)
    return c
