"""``telemed seed-demo`` builds its world through the admin area's services, as the demo ``admin``:
idempotent, never inviting a demo account, leaving what an operator changed since as it is."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from telemed.admin import contracts, doctors, insured_apply
from telemed.auth import service as auth_service
from telemed.auth.models import ConsentRecord, Invitation, OtpEnrolment, User
from telemed.catalog.models import Doctor
from telemed.members.models import Contract, Guardianship, Patient, Policy
from telemed.notify.models import OutboxEvent
from telemed.records import audit
from telemed.records.audit_models import AuditEvent
from telemed.scheduling.models import Slot
from telemed.seed import insured_csv, seed_demo
from telemed.seed_data import DOCTORS, INSURED
from tests.support.factories import actor

COUNTED = (Contract, Policy, Patient, User, Doctor, Guardianship, Slot, Invitation, OutboxEvent, AuditEvent)


def counts(db) -> dict[str, int]:
    with db.session() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def admin_of(s, username: str = "admin"):
    return actor(s.scalar(select(User).where(User.username == username)))


def test_the_demo_world_is_made_once_without_invitations(app, db):
    seed_demo(app, days=1)
    first = counts(db)
    assert first["Invitation"] == 0 and first["OutboxEvent"] == 0  # nobody was sent a link or an e-mail
    assert (first["Contract"], first["Policy"], first["Patient"], first["Guardianship"]) == (1, 3, 3, 1)
    assert first["Doctor"] == len(DOCTORS)
    assert seed_demo(app, days=1)["slots_added"] == 0
    assert counts(db) == first  # the second run changes nothing, the audit log included
    passwords = app.extensions["telemed.passwords"]
    with db.session() as s:
        contract = s.scalars(select(Contract)).one()
        assert contract.number == "ДМС-2026-0001" and contract.psychologist_limit == 3
        people = s.execute(
            select(
                Policy.number, Patient.full_name, Patient.birth_date, Patient.sex, User.username, User.email
            )
            .join(Patient, Patient.id == Policy.patient_id)
            .outerjoin(User, User.id == Patient.user_id)
            .where(Policy.contract_id == contract.id)
            .order_by(Policy.number)
        ).all()
        assert [tuple(p) for p in people] == [
            (
                "П-0001-000001",
                "Иванова Анна Сергеевна",
                date(1988, 3, 14),
                "female",
                "member",
                "member@example.org",
            ),
            ("П-0001-000002", "Иванов Михаил Андреевич", date(2017, 9, 2), "male", None, None),
            ("П-0001-000003", "Петров Олег Николаевич", date(1979, 11, 30), "male", "member2", None),
        ]
        guardianship = s.scalars(select(Guardianship)).one()
        assert s.get(User, guardianship.guardian_user_id).username == "member"
        assert s.get(Patient, guardianship.patient_id).full_name == "Иванов Михаил Андреевич"
        for username in ("member", "member2", "doctor", "admin"):
            assert auth_service.authenticate(s, passwords, username, "demo").username == username
        consenting = s.scalars(select(User.username).join(ConsentRecord, ConsentRecord.user_id == User.id))
        assert sorted(consenting) == ["member", "member2"]
        enrolled = s.scalars(select(User.username).join(OtpEnrolment, OtpEnrolment.user_id == User.id)).all()
        assert {"doctor", "doctor2", "records", "admin", "curator"} <= set(enrolled)
        assert "member" not in enrolled


def test_an_operators_changes_survive_a_second_run(app, db):
    seed_demo(app, days=1)
    today = datetime.now(UTC).date()
    with db.transaction() as s:
        admin = admin_of(s)
        contract = s.scalars(select(Contract)).one()
        covered = [c for c in contract.covered_specialties if c != "psychologist"]
        contracts.update(
            s, admin, contract.id, {"urgent": False, "psychologist_limit": 1, "covered_specialties": covered}
        )
        therapist = s.scalar(select(Doctor).where(Doctor.full_name == DOCTORS[0][1]))
        profile = doctors.doctor_json(therapist, today=today) | {"bio": "Ведёт приём по пятницам"}
        doctors.update(s, admin, therapist.id, profile, today=today)
        moved = [
            (*INSURED[2][:4], "self", "", "oleg@example.org", None)
        ]  # member2's list row, an e-mail added
        outcome = insured_apply.run(
            s, admin, contract.id, insured_csv(moved, contract), dry_run=False, now=datetime.now(UTC)
        )
        assert outcome.updated == 1
    before = counts(db)
    seed_demo(app, days=1)
    assert counts(db) == before
    with db.session() as s:
        contract = s.scalars(select(Contract)).one()
        assert (contract.urgent, contract.psychologist_limit) == (False, 1)
        assert "psychologist" not in contract.covered_specialties
        assert (
            s.scalar(select(Doctor.bio).where(Doctor.full_name == DOCTORS[0][1])) == "Ведёт приём по пятницам"
        )
        assert s.scalar(select(User.email).where(User.username == "member2")) == "oleg@example.org"


def test_a_missing_dependant_is_added_under_the_existing_guardian(app, db):
    """A world seeded partly (here: without the child's policy) gets only what is missing."""
    seed_demo(app, days=1)
    with db.transaction() as s:
        child = s.scalar(select(Policy).where(Policy.number == INSURED[1][0]))
        s.delete(
            s.get(
                Guardianship, (s.scalar(select(User.id).where(User.username == "member")), child.patient_id)
            )
        )
        s.delete(child)
    before = counts(db)
    seed_demo(app, days=1)
    after = counts(db)
    assert (after["Policy"], after["Patient"], after["Guardianship"]) == (3, before["Patient"] + 1, 1)
    assert after["User"] == before["User"] and after["Invitation"] == 0
    with db.session() as s:
        guardianship = s.scalars(select(Guardianship)).one()
        assert s.get(User, guardianship.guardian_user_id).username == "member"


def test_the_seeds_admin_writes_are_audited_as_the_admin(app, db):
    seed_demo(app, days=1)
    with db.session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        contract_id = s.scalar(select(Contract.id))
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert {(e.actor_id, e.actor_role, e.outcome) for e in events} == {(admin.id, "admin", "allowed")}
        writes = [(e.object_type, e.action) for e in events]
        assert writes.count(("contract", "write")) == 1 and writes.count(("contract", "import")) == 1
        assert writes.count(("doctor", "write")) == len(DOCTORS)
        assert writes.count(("schedule", "write")) == len(DOCTORS)
        assert {e.object_id for e in events if e.object_type == "contract"} == {str(contract_id)}
        assert {e.object_id for e in events if e.object_type == "doctor"} == {
            str(i) for i in s.scalars(select(Doctor.id))
        }
        assert audit.verify_chain(s, app.extensions["telemed.audit_keys"]).ok


def test_the_imports_linked_accounts_never_replace_a_link_nor_invite(app, db, factory):
    """``insured_apply.run(linked=...)`` (the seed's option): a new person is linked to the given
    account, no account is made for them and nobody is invited; a person with an account keeps it."""
    factory.user("root", role="admin")
    contract = factory.contract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    mine = factory.user("mine", role="member")
    other = factory.user("other", role="member")
    rows = [
        ("P-1", "Сидорова Вера Павловна", date(1990, 1, 2), None, "self", "", "vera@example.org", None),
        ("P-2", "Сидоров Лев Ильич", date(2019, 5, 6), None, "child", "P-1", "", None),
    ]
    with db.transaction() as s:
        admin = admin_of(s, "root")
        first = insured_apply.run(
            s,
            admin,
            contract.id,
            insured_csv(rows, contract),
            dry_run=False,
            now=datetime.now(UTC),
            linked={"P-1": mine.id},
        )
        assert first.created == 2
    renamed = [(rows[0][0], "Сидорова Вера Петровна", *rows[0][2:]), rows[1]]
    with db.transaction() as s:
        again = insured_apply.run(
            s,
            admin_of(s, "root"),
            contract.id,
            insured_csv(renamed, contract),
            dry_run=False,
            now=datetime.now(UTC),
            linked={"P-1": other.id},
        )
        assert again.updated == 1
    with db.session() as s:
        holder = s.scalar(select(Patient.user_id).join(Policy).where(Policy.number == "P-1"))
        guardian = s.scalars(select(Guardianship.guardian_user_id)).one()
        assert holder == guardian == mine.id
        assert s.scalar(select(func.count()).select_from(Invitation)) == 0
        assert s.scalar(select(func.count()).select_from(User)) == 3
