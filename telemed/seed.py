"""Fictional demo data: accounts, a contract, doctors of every specialty, 14 days of slots
(weekly templates and slot generation of the admin area, ``admin.schedules``).

``seed_demo`` is idempotent: running it again adds only what is missing
(for example the slots of days that came into the window since).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telemed.admin import schedules
from telemed.auth import second_factor
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.otp import DEMO_SECRET
from telemed.auth.roles import Role
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import CODES
from telemed.db import utcnow
from telemed.members.models import Contract, Guardianship, Patient, Policy
from telemed.scheduling.models import Slot
from telemed.scheduling.status import Mode, Status
from telemed.seed_data import DOCTORS, STAFF

PASSWORD = "demo"
DEMO_MEMBER_EMAIL = "member@example.org"
SLOT_MINUTES = 30
AROUND_THE_CLOCK = {"therapist", "pediatrician"}


def _user(s, passwords, username: str, role: str, full_name: str) -> User:
    """The demo account, created when missing; staff are enrolled with the authenticator secret
    ``DEMO_SECRET`` (published in the README, so demos and automated clients can log in)."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        user = auth_service.create_user(
            s, passwords, username=username, password=PASSWORD, role=role, full_name=full_name
        )
    if second_factor.required_by_role(role) and second_factor.enrolment(s, user.id) is None:
        second_factor.enrol_with_secret(s, user.id, DEMO_SECRET, now=utcnow())
    return user


def _patient(s, full_name: str, birth: date, user: User | None = None, sex: str | None = None) -> Patient:
    query = (
        select(Patient).where(Patient.user_id == user.id)
        if user
        else select(Patient).where(Patient.full_name == full_name, Patient.birth_date == birth)
    )
    patient = s.scalar(query)
    if patient is None:
        patient = Patient(full_name=full_name, birth_date=birth, user_id=user.id if user else None, sex=sex)
        s.add(patient)
        s.flush()
    return patient


def _policy(s, number: str, patient: Patient, contract: Contract) -> None:
    if s.scalar(select(Policy.id).where(Policy.number == number)) is None:
        s.add(
            Policy(
                number=number,
                patient_id=patient.id,
                contract_id=contract.id,
                valid_from=contract.starts_on,
                valid_to=contract.ends_on,
            )
        )


def _template(code: str) -> dict:
    """The demo's weekly hours: therapists and pediatricians around the clock, others 9 to 18."""
    start, end = ("00:00", "24:00") if code in AROUND_THE_CLOCK else ("09:00", "18:00")
    return {
        "slot_minutes": SLOT_MINUTES,
        "days": [{"weekday": d, "start": start, "end": end} for d in range(7)],
    }


def seed_slots(s, admin: Actor, doctors: list[Doctor], *, start_day: date, days: int, tz: ZoneInfo) -> int:
    """Give each doctor without a template the demo's weekly hours, and generate the missing slots
    of ``days`` days from ``start_day`` through the admin area's services (``admin.schedules``);
    returns how many were added."""
    midnight = datetime.combine(start_day, time.min, tzinfo=tz)
    for doctor in doctors:
        if schedules.template_of(s, doctor.id) is None:
            schedules.set_template(
                s, admin, doctor.id, _template(doctor.specialty_code), now=midnight, default_zone=tz.key
            )
    # The window starts at the day's midnight (not now), so a second run the same day adds nothing.
    return schedules.generate(
        s, now=midnight - timedelta(microseconds=1), days=days, doctor_ids=[d.id for d in doctors]
    )


def seed_demo(app, *, days: int = 14) -> dict[str, int]:
    """Create the demo world; returns counts of what exists afterwards."""
    passwords = app.extensions["telemed.passwords"]
    tz = ZoneInfo(app.config["CLINIC_TIMEZONE"])
    version = app.config["CONSENT_VERSION"]
    today = utcnow().astimezone(tz).date()
    with app.extensions["telemed.db"].transaction() as s:
        contract = s.scalar(select(Contract).where(Contract.number == "ДМС-2026-0001"))
        if contract is None:
            contract = Contract(
                number="ДМС-2026-0001",
                client="ООО «Ромашка»",
                starts_on=date(today.year, 1, 1),
                ends_on=date(today.year + 1, 12, 31),
                telemedicine=True,
                covered_specialties=list(CODES),
                psychologist_limit=3,
            )
            s.add(contract)
            s.flush()
        member = _user(s, passwords, "member", Role.MEMBER, "Иванова Анна Сергеевна")
        member.email = member.email or DEMO_MEMBER_EMAIL  # booking e-mails, reminders (TELEMED_SMTP_URL)
        member2 = _user(s, passwords, "member2", Role.MEMBER, "Петров Олег Николаевич")
        me = _patient(s, member.full_name, date(1988, 3, 14), member, "female")
        child = _patient(s, "Иванов Михаил Андреевич", date(2017, 9, 2), sex="male")
        other = _patient(s, member2.full_name, date(1979, 11, 30), member2, "male")
        if s.get(Guardianship, (member.id, child.id)) is None:
            s.add(Guardianship(guardian_user_id=member.id, patient_id=child.id, relation="parent"))
        for number, patient in (("П-0001-000001", me), ("П-0001-000002", child), ("П-0001-000003", other)):
            _policy(s, number, patient, contract)
        for user in (member, member2):
            auth_service.accept_consent(s, user.id, version=version, current_version=version, now=utcnow())
        for staff_username, role, staff_name in STAFF:
            _user(s, passwords, staff_username, role, staff_name)
        doctors = []
        for code, name, year, education, degree, username in DOCTORS:
            doctor = s.scalar(select(Doctor).where(Doctor.full_name == name))
            if doctor is not None and doctor.user_id is None and username:  # an account added since
                doctor.user_id = _user(s, passwords, username, Role.DOCTOR, name).id
            if doctor is None:
                account = _user(s, passwords, username, Role.DOCTOR, name) if username else None
                doctor = Doctor(
                    full_name=name,
                    specialty_code=code,
                    career_start=date(year, 9, 1),
                    education=education,
                    degree=degree,
                    user_id=account.id if account else None,
                )
                s.add(doctor)
                s.flush()
            doctors.append(doctor)
        admin = s.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
        actor = Actor(id=admin.id, role=admin.role, name=admin.full_name)
        added = seed_slots(s, actor, doctors, start_day=today, days=days, tz=tz)
        _seed_history(s, me, member, contract, doctors[0], tz)
    return {
        "doctors": len(doctors),
        "slots_added": added,
        "accounts": 2 + len(STAFF) + sum(1 for *_, username in DOCTORS if username),
    }


def _seed_history(
    s, patient: Patient, member: User, contract: Contract, therapist: Doctor, tz: ZoneInfo
) -> None:
    """A past teleconsultation with a signed conclusion and an in-person visit, once."""
    from telemed.records.conclusions import content_hash
    from telemed.records.models import Conclusion, Visit
    from telemed.records.referrals import issue_for
    from telemed.scheduling.models import Consultation

    if s.scalar(select(Visit.id).where(Visit.patient_id == patient.id)) is not None:
        return
    start = datetime.combine(utcnow().astimezone(tz).date() - timedelta(days=20), time(10), tzinfo=tz)
    slot = Slot(doctor_id=therapist.id, starts_at=start, ends_at=start + timedelta(minutes=SLOT_MINUTES))
    s.add(slot)
    s.flush()
    c = Consultation(
        patient_id=patient.id,
        booked_by_id=member.id,
        doctor_id=therapist.id,
        slot_id=slot.id,
        contract_id=contract.id,
        specialty_code="therapist",
        mode=Mode.PLANNED,
        status=Status.COMPLETED,
        reason="Кашель, температура",
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
    )
    s.add(c)
    s.flush()
    conclusion = Conclusion(
        consultation_id=c.id,
        patient_id=patient.id,
        complaints="Кашель, температура 37,8 °C третий день",
        anamnesis="Контакт с заболевшими коллегами",
        objective="Со слов пациентки: слабость, насморк",
        diagnosis_icd10="J06.9",
        diagnosis_text="Острая инфекция верхних дыхательных путей",
        recommendations="Обильное тёплое питьё, отдых; при температуре выше 38,5 °C — жаропонижающее",
        referrals=[
            {"kind": "test", "code": "B03.016.002"},
            {"kind": "specialist", "specialty": "ent", "note": "При сохранении заложенности носа"},
        ],
        follow_up="Повторная консультация через 5 дней",
        search_text="острая инфекция верхних дыхательных путей",
        signed_at=slot.ends_at,
        signed_by_id=therapist.user_id,
        updated_at=slot.ends_at,
    )
    s.add(conclusion)
    s.flush()
    conclusion.content_sha256 = content_hash(conclusion)
    issue_for(s, conclusion, slot.ends_at)
    s.add(
        Visit(
            patient_id=patient.id,
            visited_at=start - timedelta(days=40),
            clinic="Клиника на Пятницкой",
            doctor_name="Петров Пётр Петрович",
            specialty_code="cardiologist",
            diagnosis_icd10="I10",
            diagnosis_text="Эссенциальная гипертензия",
            notes="АД 150/95, назначен контроль давления",
            search_text="эссенциальная гипертензия клиника на пятницкой петров петр петрович",
            created_by_id=s.scalar(select(User.id).where(User.username == "records")),
        )
    )
