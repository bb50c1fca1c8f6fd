"""Admins import an employer's insured list (CSV, XLSX): dry run, refusals by line, one transaction."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from telemed.auth.models import Invitation, User
from telemed.members.models import Guardianship, Patient, Policy
from telemed.notifications.models import Notification
from telemed.scheduling.entitlements import psychologist_used
from telemed.scheduling.models import Consultation
from tests.support.clients import ApiClient
from tests.support.factories import make_consultation

HEADER = "policy_number,full_name,birth_date,relation,main_policy_number,valid_from,valid_to,email"
GOOD = [
    "P-100,Иванов Иван Иванович,01.02.1980,self,,01.01.2026,31.12.2026,ivanov@example.org",
    "P-101,Иванова Мария Петровна,03.04.1982,spouse,P-100,01.01.2026,31.12.2026,maria@example.org",
    "P-102,Иванов Миша,05.06.2018,child,P-100,01.01.2026,31.12.2026,",
]


def csv_file(*rows: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join([HEADER, *rows]) + "\n").encode()


@pytest.fixture
def env(app, factory):
    factory.user("root", role="admin")
    contract = factory.contract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    return {"admin": ApiClient(app, "root"), "contract": contract}


def upload(env, data: bytes, *, dry_run=False, name="list.csv"):
    path = f"/api/v1/admin/contracts/{env['contract'].id}/insured" + ("?dry_run=1" if dry_run else "")
    r = env["admin"].post(path, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json


def counts(db):
    with db.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t))
            for t in (Patient, Policy, User, Guardianship, Invitation)
        )


def test_a_clean_csv_is_applied_and_a_second_import_changes_nothing(db, env):
    before = counts(db)
    assert upload(env, csv_file(*GOOD, bom=True)) == {
        "applied": True,
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
    }
    with db.session() as s:
        by_number = {
            p.number: p for p in s.scalars(select(Policy).where(Policy.contract_id == env["contract"].id))
        }
        assert set(by_number) == {"P-100", "P-101", "P-102"}
        adult = s.get(Patient, by_number["P-100"].patient_id)
        spouse = s.get(Patient, by_number["P-101"].patient_id)
        child = s.get(Patient, by_number["P-102"].patient_id)
        assert (adult.full_name, adult.birth_date) == ("Иванов Иван Иванович", date(1980, 2, 1))
        assert by_number["P-100"].valid_to == date(2026, 12, 31)
        ivanov = s.get(User, adult.user_id)
        assert (ivanov.email, ivanov.role, ivanov.username) == (
            "ivanov@example.org",
            "member",
            "ivanov@example.org",
        )
        assert not ivanov.password_hash.startswith("$argon2")  # no password until the invitation is used
        assert spouse.user_id is not None and child.user_id is None
        assert s.scalars(
            select(Guardianship.guardian_user_id).where(Guardianship.patient_id == child.id)
        ).all() == [ivanov.id]
        invited = s.scalars(select(Invitation.user_id).order_by(Invitation.user_id)).all()
        assert invited == sorted([adult.user_id, spouse.user_id])
        kinds = s.scalars(select(Notification.kind).where(Notification.user_id == ivanov.id)).all()
        assert kinds == ["invite"]
    after = counts(db)
    assert upload(env, csv_file(*GOOD)) == {
        "applied": True,
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "errors": [],
    }
    assert counts(db) == after != before


def test_an_xlsx_with_date_cells_is_read_like_the_csv(db, env):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "P-200",
            "Петров Пётр",
            datetime(1975, 7, 8),
            "self",
            None,
            date(2026, 1, 1),
            "31.12.2026",
            "petrov@example.org",
        ]
    )
    sheet.append(
        [
            300,
            "Петрова Аня",
            "09.10.2019",
            "child",
            "P-200",
            datetime(2026, 1, 1),
            datetime(2026, 6, 30),
            None,
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    dry = upload(env, data, dry_run=True, name="list.xlsx")
    assert (dry["applied"], dry["created"], dry["errors"]) == (False, 2, [])
    assert upload(env, data, name="list.xlsx")["created"] == 2
    with db.session() as s:
        rows = s.execute(select(Policy.number, Patient.birth_date, Policy.valid_to).join(Patient)).all()
    assert sorted(rows) == [
        ("300", date(2019, 10, 9), date(2026, 6, 30)),
        ("P-200", date(1975, 7, 8), date(2026, 12, 31)),
    ]


def test_a_dry_run_reports_and_writes_nothing(db, env):
    before = counts(db)
    body = upload(env, csv_file(*GOOD), dry_run=True)
    assert body == {"applied": False, "rows": 3, "created": 3, "updated": 0, "unchanged": 0, "errors": []}
    assert counts(db) == before


def test_every_bad_row_is_reported_with_its_line_and_the_file_is_refused_whole(db, factory, env):
    other = factory.contract()
    factory.patient(name="Чужой", contract=other)
    with db.session() as s:
        foreign = s.scalar(select(Policy.number).where(Policy.contract_id == other.id))
    rows = [
        GOOD[0],  # line 2: good
        "P-100,Дубль,01.02.1980,self,,01.01.2026,31.12.2026,",  # 3: duplicate policy
        "P-300,Без даты,31.02.1980,self,,01.01.2026,31.12.2026,",  # 4: bad date
        "P-301,Наоборот,01.02.1980,self,,01.06.2026,01.01.2026,",  # 5: valid_to before valid_from
        "P-302,Сирота,01.02.2018,child,,01.01.2026,31.12.2026,",  # 6: a child without a main policy
        "P-303,Потерянный,01.02.2018,child,P-999,01.01.2026,31.12.2026,",  # 7: unknown main policy
        "P-304,Ребёнок супруги,01.02.2018,child,P-305,01.01.2026,31.12.2026,",  # 8: main is a spouse
        "P-305,Супруга,01.02.1985,spouse,P-100,01.01.2026,31.12.2026,",  # 9: good
        "P-306,Кто-то,01.02.1985,cousin,,01.01.2026,31.12.2026,",  # 10: unknown relation
        "P-307,,01.02.1985,self,,01.01.2026,31.12.2026,",  # 11: missing name
        "P-308,Почта,01.02.1985,self,,01.01.2026,31.12.2026,not-an-email",  # 12: bad email
        f"{foreign},Чужой,01.02.1985,self,,01.01.2026,31.12.2026,",  # 13: another contract's policy
        "P-309,Одинокий,01.02.1985,self,,01.01.2026,31.12.2026,",  # 14: an adult without e-mail: fine
        "P-310,Ребёнок без аккаунта,01.02.2018,child,P-309,01.01.2026,31.12.2026,",  # 15: no guardian account
    ]
    before = counts(db)
    for dry_run in (True, False):
        body = upload(env, csv_file(*rows), dry_run=dry_run)
        assert body["applied"] is False
        assert body["rows"] == len(rows)
        assert [(e["line"], e["reason"]) for e in body["errors"]] == [
            (3, "duplicate_policy"),
            (4, "bad_date"),
            (5, "dates_reversed"),
            (6, "child_without_guardian"),
            (7, "unknown_main_policy"),
            (8, "child_without_guardian"),
            (10, "unknown_relation"),
            (11, "missing_name"),
            (12, "bad_email"),
            (13, "unknown_contract"),
            (15, "child_without_guardian"),
        ]
        assert counts(db) == before


def test_a_file_without_the_columns_is_refused_at_line_1(db, env):
    body = upload(env, b"name,birth\nA,01.01.2000\n")
    assert (body["applied"], body["errors"]) == (False, [{"line": 1, "reason": "bad_header"}])
    body = upload(env, b"\xff\xfe" + csv_file(*GOOD))
    assert body["applied"] is False and body["errors"][0]["reason"] in ("bad_header", "bad_file")


def test_changed_rows_are_updated_and_counted(db, env):
    upload(env, csv_file(*GOOD))
    changed = [
        GOOD[0].replace("Иванов Иван Иванович", "Иванов Иван Ильич"),
        GOOD[1].replace("maria@example.org", "maria.new@example.org"),
        GOOD[2],
        "P-103,Иванова Оля,05.06.2020,child,P-100,01.01.2026,31.12.2026,",
    ]
    body = upload(env, csv_file(*changed))
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 2, 1)
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Patient).where(Patient.full_name == "Иванов Иван Ильич")
            )
            == 1
        )
        assert (
            s.scalar(select(func.count()).select_from(User).where(User.email == "maria.new@example.org")) == 1
        )


def test_a_policy_ended_early_cancels_later_consultations_and_tells_the_member(db, factory, env):
    today = date.today()
    contract = factory.contract(starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=300))
    env["contract"] = contract
    end = (today + timedelta(days=200)).strftime("%d.%m.%Y")
    start = (today - timedelta(days=10)).strftime("%d.%m.%Y")
    row = f"P-500,Сидоров Сидор,01.02.1980,self,,{start},{end},sidorov@example.org"
    upload(env, csv_file(row))
    with db.session() as s:
        patient = s.scalar(select(Patient).join(Policy).where(Policy.number == "P-500"))
        member = s.get(User, patient.user_id)
    doctor = factory.doctor("psychologist")
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    later = soon + timedelta(days=20)
    kept = make_consultation(factory, member, patient, doctor, contract, start=soon)
    dropped = make_consultation(factory, member, patient, doctor, contract, start=later)
    new_end = (today + timedelta(days=10)).strftime("%d.%m.%Y")
    body = upload(env, csv_file(row.replace(end, new_end)))
    assert (body["applied"], body["updated"]) == (True, 1)
    with db.session() as s:
        assert s.get(Consultation, kept.id).status == "scheduled"
        gone = s.get(Consultation, dropped.id)
        assert gone.status == "cancelled" and gone.cancel_reason
        told = s.scalars(
            select(Notification).where(Notification.user_id == member.id, Notification.kind == "cancelled")
        ).all()
        assert [n.consultation_id for n in told] == [dropped.id]
        # the psychologist consultation cancelled no longer counts: only the kept one does
        assert psychologist_used(s, patient.id, contract.id) == 1


def test_two_contracts_importing_the_same_new_policy_at_once_never_answer_500(app, db, factory, env):
    """Both imports see the policy as new; the one that commits second gets 409 ``conflict`` (or,
    when it read after the first committed, a bad row) and writes nothing."""
    import threading

    other = factory.contract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    rows = [f"R-{i},Петров {i},01.02.1980,self,,01.01.2026,31.12.2026," for i in range(300)]
    data = csv_file(*rows)
    clients = [ApiClient(app, "root"), ApiClient(app, "root")]
    barrier, answers = threading.Barrier(2), []

    def run(client, contract_id):
        barrier.wait()
        r = client.post(
            f"/api/v1/admin/contracts/{contract_id}/insured",
            data={"file": (io.BytesIO(data), "list.csv")},
            content_type="multipart/form-data",
        )
        answers.append((r.status_code, r.json))

    threads = [
        threading.Thread(target=run, args=(c, cid))
        for c, cid in zip(clients, (env["contract"].id, other.id), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in answers)
    assert 500 not in statuses, answers
    applied = [body for status, body in answers if status == 200 and body["applied"]]
    assert len(applied) == 1, answers
    loser = next(body for status, body in answers if not (status == 200 and body["applied"]))
    assert loser["error"]["code"] == "conflict" if "error" in loser else loser["errors"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Policy)) == 300
        assert len(set(s.scalars(select(Policy.contract_id)))) == 1
