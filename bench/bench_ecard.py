"""Benchmark: e-card read and patient search latency, audit append included.

Builds, with bulk inserts:
  * one patient whose e-card holds 2,000 entries: ~700 signed conclusions of consultations with
    12 doctors of different specialties, ~700 in-person visits, ~600 document (attachment) rows
    (no stored objects: the e-card lists rows only);
  * 100,000 patients with Russian full names (surname, first name, patronymic; female forms for
    women), birth dates 1940-2023 and one policy each;
  * background data of other patients (visits, consultations with conclusions, attachments) and a
    50,000-event audit chain, so that indexes are not trivially selective;
then prints p50/p95 (ms) and SQL statements per request of
  * GET /api/v1/patients/{id}/record (first page, default limit 50): records staff, the patient,
    a doctor caring for the patient (the psychologist's entries restricted: need-to-know), and
    records staff with the filters kind=visit, text=<word> (also the doctor), from/to (one year);
  * GET /api/v1/patients?q=... (records staff): surname prefix, first name (the middle word of
    the name), birth date ДД.ММ.ГГГГ, policy number.

Every request appends an audit row (``telemed.records.audit.record``) in its own transaction;
that is inside the timing. Requests go through the whole Flask stack in-process (test client).
Each figure is over ``--requests`` timed requests after ``--warmup`` untimed ones; the query
values rotate over several patients/words so no single row stays hot. Goal: p95 < 100 ms.

Usage: .venv/bin/python bench/bench_ecard.py [--requests 200] [--patients 100000] [--postgres]
(about 1-2 minutes per database on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telemed import create_app
from telemed.auth import service as auth_service
from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.cli import init_database
from telemed.documents.models import Attachment
from telemed.members.models import Contract, Patient, Policy, fold
from telemed.records.audit import chain_hash
from telemed.records.audit_models import GENESIS_HASH, AuditEvent
from telemed.records.models import Conclusion, Visit
from telemed.scheduling.models import Consultation

CHUNK = 10_000
SEED = 20261124

# -- Russian names -------------------------------------------------------------------------------

SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
    "Савельев",
    "Тимофеев",
    "Фомин",
    "Чернов",
    "Абрамов",
    "Мартынов",
    "Ефимов",
    "Федотов",
    "Щербаков",
    "Назаров",
    "Калинин",
    "Исаев",
    "Чернышёв",
    "Быков",
    "Маслов",
    "Родионов",
    "Коновалов",
    "Лазарев",
    "Воронин",
    "Климов",
    "Филатов",
    "Пономарёв",
    "Голубев",
    "Кудрявцев",
    "Прохоров",
    "Наумов",
    "Потапов",
    "Журавлёв",
    "Овчинников",
    "Трофимов",
    "Леонов",
    "Соболев",
    "Ермаков",
    "Колесников",
    "Гончаров",
    "Емельянов",
    "Никифоров",
    "Грачёв",
    "Котов",
    "Гришин",
    "Ефремов",
    "Архипов",
    "Громов",
    "Кириллов",
    "Малышев",
    "Панов",
    "Моисеев",
    "Румянцев",
    "Акимов",
    "Кондратьев",
    "Бирюков",
    "Горбунов",
    "Анисимов",
    "Ерёмин",
    "Тихомиров",
    "Галкин",
    "Лукьянов",
    "Михеев",
    "Скворцов",
    "Юдин",
    "Белоусов",
    "Нестеров",
    "Симонов",
    "Прокофьев",
    "Харитонов",
    "Князев",
    "Цветков",
    "Левин",
    "Митрофанов",
    "Воронцов",
    "Рябов",
    "Покровский",
    "Вишневский",
    "Успенский",
    "Островский",
    "Белинский",
    "Шевченко",
    "Коваленко",
    "Бондаренко",
    "Черных",
    "Седых",
]
MALE_NAMES = [
    "Александр",
    "Алексей",
    "Андрей",
    "Антон",
    "Артём",
    "Борис",
    "Вадим",
    "Валерий",
    "Василий",
    "Виктор",
    "Виталий",
    "Владимир",
    "Владислав",
    "Вячеслав",
    "Геннадий",
    "Георгий",
    "Григорий",
    "Дмитрий",
    "Денис",
    "Евгений",
    "Егор",
    "Иван",
    "Игорь",
    "Илья",
    "Кирилл",
    "Константин",
    "Леонид",
    "Максим",
    "Михаил",
    "Никита",
    "Николай",
    "Олег",
    "Павел",
    "Пётр",
    "Роман",
    "Руслан",
    "Сергей",
    "Станислав",
    "Степан",
    "Тимур",
    "Фёдор",
    "Юрий",
    "Ярослав",
]
FEMALE_NAMES = [
    "Александра",
    "Алина",
    "Алла",
    "Анастасия",
    "Анна",
    "Валентина",
    "Валерия",
    "Вера",
    "Вероника",
    "Виктория",
    "Галина",
    "Дарья",
    "Диана",
    "Екатерина",
    "Елена",
    "Елизавета",
    "Жанна",
    "Зоя",
    "Инна",
    "Ирина",
    "Карина",
    "Кристина",
    "Ксения",
    "Лариса",
    "Лидия",
    "Любовь",
    "Людмила",
    "Маргарита",
    "Марина",
    "Мария",
    "Надежда",
    "Наталья",
    "Нина",
    "Оксана",
    "Ольга",
    "Полина",
    "Светлана",
    "София",
    "Тамара",
    "Татьяна",
    "Ульяна",
    "Юлия",
    "Яна",
]
PATRONYMICS = [
    "Александрович",
    "Алексеевич",
    "Андреевич",
    "Антонович",
    "Борисович",
    "Вадимович",
    "Валерьевич",
    "Васильевич",
    "Викторович",
    "Витальевич",
    "Владимирович",
    "Вячеславович",
    "Геннадьевич",
    "Георгиевич",
    "Григорьевич",
    "Дмитриевич",
    "Евгеньевич",
    "Егорович",
    "Иванович",
    "Игоревич",
    "Ильич",
    "Кириллович",
    "Константинович",
    "Леонидович",
    "Максимович",
    "Михайлович",
    "Николаевич",
    "Олегович",
    "Павлович",
    "Петрович",
    "Романович",
    "Сергеевич",
    "Степанович",
    "Юрьевич",
    "Фёдорович",
]


def female_surname(s: str) -> str:
    if s.endswith("ский"):
        return s[:-2] + "ая"
    if s.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return s + "а"
    return s  # Шевченко, Черных: the same for both


def female_patronymic(p: str) -> str:
    return "Ильинична" if p == "Ильич" else p[:-2] + "на"  # -ович -> -овна, -евич -> -евна


def person(rng: random.Random) -> tuple[str, str]:
    surname, patronymic = rng.choice(SURNAMES), rng.choice(PATRONYMICS)
    if rng.random() < 0.54:
        return (
            f"{female_surname(surname)} {rng.choice(FEMALE_NAMES)} {female_patronymic(patronymic)}",
            "female",
        )
    return f"{surname} {rng.choice(MALE_NAMES)} {patronymic}", "male"


def policy_number(i: int) -> str:
    # 16 digits, unique: multiplication by a number coprime to 10 permutes the residues mod 10**14
    return f"77{(i * 2654435761 + 12345) % 10**14:014d}"


# -- medical content -----------------------------------------------------------------------------

DIAGNOSES = [
    ("J06.9", "Острая инфекция верхних дыхательных путей", "therapist"),
    ("I10", "Эссенциальная гипертензия", "cardiologist"),
    ("I25.1", "Атеросклеротическая болезнь сердца", "cardiologist"),
    ("E11.9", "Сахарный диабет 2 типа без осложнений", "endocrinologist"),
    ("E03.9", "Гипотиреоз неуточнённый", "endocrinologist"),
    ("K29.7", "Гастрит неуточнённый", "gastroenterologist"),
    ("M54.5", "Боль внизу спины", "neurologist"),
    ("G43.9", "Мигрень неуточнённая", "neurologist"),
    ("J30.4", "Аллергический ринит неуточнённый", "allergist"),
    ("L20.9", "Атопический дерматит неуточнённый", "dermatologist"),
    ("H66.9", "Средний отит неуточнённый", "ent"),
    ("N30.0", "Острый цистит", "urologist"),
    ("M17.1", "Первичный гонартроз", "orthopedist"),
    ("N95.1", "Менопауза и климактерическое состояние", "gynecologist"),
    ("F41.1", "Генерализованное тревожное расстройство", "psychologist"),
]
COMPLAINTS = [
    "Головная боль, слабость",
    "Повышение давления до 160/100",
    "Кашель, температура 37,8",
    "Боль в пояснице при наклоне",
    "Зуд и сухость кожи",
    "Заложенность носа, чихание",
    "Изжога после еды",
    "Жажда, сухость во рту",
    "Боль в колене при ходьбе",
    "Тревога, нарушение сна",
    "Учащённое мочеиспускание",
    "Боль в ухе",
]
RECOMMENDATIONS = [
    "Контроль давления утром и вечером",
    "Общий анализ крови",
    "Обильное питьё",
    "Лечебная физкультура",
    "Диета, дробное питание",
    "Повторная консультация через 2 недели",
    "УЗИ щитовидной железы",
    "ЭКГ, суточное мониторирование",
]
CLINICS = [
    "Клиника на Пятницкой",
    "Медцентр «Здоровье»",
    "Поликлиника № 12",
    "Клиника семейной медицины",
    "Диагностический центр на Лесной",
]
DOCUMENTS = [
    "Общий анализ крови",
    "Биохимия крови",
    "УЗИ брюшной полости",
    "ЭКГ",
    "Рентген грудной клетки",
    "МРТ поясничного отдела",
    "Выписка из стационара",
    "Анализ мочи",
    "Гликированный гемоглобин",
    "Заключение офтальмолога",
]
SPECIALTIES = sorted({d[2] for d in DIAGNOSES})
TEXT_WORD = "гипертензия"  # in the I10 conclusions and visits (~1 entry in 15)

# -- data ---------------------------------------------------------------------------------------


def chunked(s, model_or_table, rows: list[dict]) -> None:
    for i in range(0, len(rows), CHUNK):
        s.execute(insert(model_or_table), rows[i : i + CHUNK])


def fix_sequences(db, tables: list[str]) -> None:
    if db.is_sqlite:
        return
    with db.transaction() as s:
        for t in tables:
            s.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {t}))"
                )
            )


class World:
    """What the timed requests need: ids, tokens, and query values taken from the data."""

    patient_id: int
    staff_token: str
    patient_token: str
    doctor_token: str
    surname_prefixes: list[str]
    first_names: list[str]
    birth_dates: list[str]
    policies: list[str]
    year: int


def build(app, n_patients: int, rng: random.Random) -> World:
    db = app.extensions["telemed.db"]
    passwords, version = app.extensions["telemed.passwords"], app.config["CONSENT_VERSION"]
    now = datetime.now(UTC).replace(microsecond=0)
    w = World()
    with db.transaction() as s:
        contract = Contract(
            number="BENCH-ECARD",
            client="Bench",
            starts_on=date(2000, 1, 1),
            ends_on=date(2100, 1, 1),
            telemedicine=True,
            covered_specialties=SPECIALTIES,
            psychologist_limit=3,
        )
        s.add(contract)
        staff = auth_service.create_user(
            s, passwords, username="records", password="x", role="records", full_name="Регистратор Анна"
        )
        member = auth_service.create_user(
            s,
            passwords,
            username="member",
            password="x",
            role="member",
            full_name="Кузнецова Ольга Сергеевна",
        )
        s.flush()
        auth_service.accept_consent(s, member.id, version=version, current_version=version, now=now)
        doctor_users, doctors = [], []
        for i, code in enumerate(SPECIALTIES):
            name, _ = person(rng)
            u = User(username=f"doctor{i}", password_hash=staff.password_hash, role="doctor", full_name=name)
            s.add(u)
            s.flush()
            d = Doctor(
                user_id=u.id,
                full_name=name,
                specialty_code=code,
                career_start=date(2000 + i, 9, 1),
                education="Университет",
                degree=None,
            )
            s.add(d)
            s.flush()
            doctor_users.append(u)
            doctors.append(d)
        w.staff_token = auth_service.issue_token(s, staff, now=now, ttl=timedelta(days=1))
        w.patient_token = auth_service.issue_token(s, member, now=now, ttl=timedelta(days=1))
        contract_id, member_id, staff_id = contract.id, member.id, staff.id
        doctor_ids = [(d.id, u.id, d.specialty_code) for d, u in zip(doctors, doctor_users, strict=True)]

    # 100,000 patients, one policy each; patient 1 is the member with the big e-card
    t0 = time.perf_counter()
    patients, policies = [], []
    for pid in range(1, n_patients + 1):
        if pid == 1:
            name, sex, born = "Кузнецова Ольга Сергеевна", "female", date(1979, 5, 14)
        else:
            name, sex = person(rng)
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 84))
        patients.append(
            {
                "id": pid,
                "user_id": member_id if pid == 1 else None,
                "full_name": name,
                "name_search": fold(name),
                "birth_date": born,
                "sex": sex,
                "created_at": now,
            }
        )
        policies.append(
            {
                "id": pid,
                "number": policy_number(pid),
                "patient_id": pid,
                "contract_id": contract_id,
                "valid_from": date(2025, 1, 1),
                "valid_to": date(2027, 12, 31),
            }
        )
    with db.transaction() as s:
        chunked(s, Patient, patients)
        chunked(s, Policy, policies)
    t_patients = time.perf_counter() - t0

    # e-card rows: the big patient (2,000 entries) plus background rows of other patients
    t0 = time.perf_counter()
    consultations, conclusions, visits, attachments = [], [], [], []
    start_day = now - timedelta(days=365 * 10)

    def moment() -> datetime:
        return start_day + timedelta(seconds=rng.randrange(365 * 10 * 86400 - 86400))

    def add_consultation(patient_id: int) -> tuple[int, int, datetime]:
        dx_code, dx_text, spec = rng.choice(DIAGNOSES)
        doctor_id, doctor_user, _ = next(d for d in doctor_ids if d[2] == spec)
        starts = moment().replace(minute=rng.choice((0, 30)), second=0)
        cid = len(consultations) + 1
        consultations.append(
            {
                "id": cid,
                "patient_id": patient_id,
                "booked_by_id": member_id,
                "doctor_id": doctor_id,
                "slot_id": None,
                "contract_id": contract_id,
                "specialty_code": spec,
                "mode": "planned",
                "status": "completed",
                "reason": "",
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=30),
                "created_at": starts,
                "cancelled_at": None,
                "cancelled_by_id": None,
            }
        )
        complaints, rec = rng.choice(COMPLAINTS), rng.choice(RECOMMENDATIONS)
        content = f"{dx_code}|{dx_text}|{complaints}|{rec}|{cid}"
        signed = starts + timedelta(minutes=40)
        conclusions.append(
            {
                "id": cid,
                "consultation_id": cid,
                "patient_id": patient_id,
                "complaints": complaints,
                "anamnesis": "Со слов пациента",
                "objective": "Состояние удовлетворительное",
                "diagnosis_icd10": dx_code,
                "diagnosis_text": dx_text,
                "recommendations": rec,
                "referrals": [{"kind": "in_person", "note": rec}],
                "follow_up": "По необходимости",
                "search_text": fold(" ".join([dx_text, complaints, rec, rec])),
                "updated_at": signed,
                "signed_at": signed,
                "signed_by_id": doctor_user,
                "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
            }
        )
        return cid, doctor_user, starts

    def add_visit(patient_id: int) -> None:
        dx_code, dx_text, spec = rng.choice(DIAGNOSES)
        clinic, doctor_name, notes = rng.choice(CLINICS), person(rng)[0], rng.choice(COMPLAINTS)
        at = moment()
        visits.append(
            {
                "id": len(visits) + 1,
                "patient_id": patient_id,
                "visited_at": at,
                "clinic": clinic,
                "doctor_name": doctor_name,
                "specialty_code": spec,
                "diagnosis_icd10": dx_code,
                "diagnosis_text": dx_text,
                "notes": notes,
                "search_text": fold(" ".join([dx_text, clinic, doctor_name, notes])),
                "created_by_id": staff_id,
                "created_at": at,
            }
        )

    def add_attachment(patient_id: int, consultation: tuple[int, int, datetime]) -> None:
        cid, doctor_user, starts = consultation
        aid = len(attachments) + 1
        at = starts + timedelta(minutes=rng.randrange(1, 60 * 24 * 3))
        attachments.append(
            {
                "id": aid,
                "consultation_id": cid,
                "patient_id": patient_id,
                "uploaded_by_id": rng.choice((member_id, doctor_user)),
                "message_id": None,
                "filename": f"{rng.choice(DOCUMENTS)} {at:%d.%m.%Y}.pdf",
                "content_type": "application/pdf",
                "size": rng.randrange(50_000, 5_000_000),
                "sha256": hashlib.sha256(str(aid).encode()).hexdigest(),
                "storage_key": f"bench/{aid:08d}",
                "created_at": at,
            }
        )

    mine = [add_consultation(1) for _ in range(700)]
    for _ in range(700):
        add_visit(1)
    for _ in range(600):
        add_attachment(1, rng.choice(mine))
    for _ in range(10_000):  # background: other patients' e-cards
        other = rng.randrange(2, n_patients + 1)
        c = add_consultation(other)
        add_visit(rng.randrange(2, n_patients + 1))
        add_visit(rng.randrange(2, n_patients + 1))
        add_attachment(other, c)
    # the therapist has the big patient booked for tomorrow: they read the e-card as a caring
    # doctor, who sees the psychologist's entries as restricted ones (need-to-know)
    therapist_doctor, therapist_user, _ = next(d for d in doctor_ids if d[2] == "therapist")
    tomorrow = now + timedelta(days=1)
    consultations.append(
        {
            **consultations[-1],
            "id": len(consultations) + 1,
            "patient_id": 1,
            "doctor_id": therapist_doctor,
            "specialty_code": "therapist",
            "status": "scheduled",
            "starts_at": tomorrow,
            "ends_at": tomorrow + timedelta(minutes=30),
            "created_at": now,
        }
    )
    with db.transaction() as s:
        w.doctor_token = auth_service.issue_token(
            s, s.get(User, therapist_user), now=now, ttl=timedelta(days=1)
        )
    with db.transaction() as s:
        chunked(s, Consultation, consultations)
        chunked(s, Conclusion, conclusions)
        chunked(s, Visit, visits)
        chunked(s, Attachment, attachments)
    t_ecard = time.perf_counter() - t0

    # an audit chain of 50,000 earlier accesses (valid: `telemed audit-verify` passes)
    t0 = time.perf_counter()
    events, prev = [], GENESIS_HASH
    keys = app.extensions["telemed.audit_keys"]
    at = now - timedelta(days=30)
    for i in range(1, 50_001):
        at += timedelta(seconds=50)
        fields = {
            "id": i,
            "at": at,
            "actor_id": staff_id,
            "actor_role": "records",
            "patient_id": rng.randrange(1, n_patients + 1),
            "object_type": "record",
            "object_id": None,
            "action": "read",
            "outcome": "allowed",
            "client_addr": "127.0.0.1",
            "key_id": keys.current_id,
        }
        h = chain_hash(prev, fields, keys)
        events.append({**fields, "prev_hash": prev, "hash": h})
        prev = h
    with db.transaction() as s:
        chunked(s, AuditEvent.__table__, events)
    t_audit = time.perf_counter() - t0
    fix_sequences(
        db, ["patients", "policies", "consultations", "conclusions", "visits", "attachments", "audit_events"]
    )
    if not db.is_sqlite:  # what autovacuum would have done by now after a bulk load
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    print(
        f"  data: {n_patients} patients+policies {t_patients:.1f}s, e-card rows "
        f"({len(consultations)} consultations+conclusions, {len(visits)} visits, {len(attachments)} attachments) "
        f"{t_ecard:.1f}s, 50,000 audit events {t_audit:.1f}s",
        flush=True,
    )

    w.patient_id = 1
    sample = [patients[rng.randrange(1, n_patients)] for _ in range(25)]
    w.surname_prefixes = [p["full_name"].split()[0][: rng.choice((4, 5, 6))] for p in sample[:10]]
    w.first_names = [p["full_name"].split()[1] for p in sample[10:20]]
    w.birth_dates = [p["birth_date"].strftime("%d.%m.%Y") for p in sample]
    w.policies = [policy_number(p["id"]) for p in sample]
    w.year = now.year - 3
    return w


# -- timing -------------------------------------------------------------------------------------


class StatementCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args):
        self.count += 1


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(
    db_url: str, instance: Path, n_patients: int, n_requests: int, warmup: int, label: str
) -> list[tuple]:
    print(f"[{label}]", flush=True)
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "INSTANCE_DIR": str(instance),
            "PASSWORD_HASH": "argon2-fast",
            "SECRET_KEY": "bench",
        }
    )
    init_database(app)
    w = build(app, n_patients, random.Random(SEED))
    client = app.test_client()
    counter = StatementCounter(app.extensions["telemed.db"].engine)
    staff = {"Authorization": f"Bearer {w.staff_token}"}
    patient = {"Authorization": f"Bearer {w.patient_token}"}
    doctor = {"Authorization": f"Bearer {w.doctor_token}"}
    record = f"/api/v1/patients/{w.patient_id}/record"
    period = urlencode({"from": f"{w.year}-01-01T00:00:00+03:00", "to": f"{w.year + 1}-01-01T00:00:00+03:00"})

    def search(values):
        return lambda i: "/api/v1/patients?" + urlencode({"q": values[i % len(values)]})

    cases = [
        ("record, records staff", lambda i: record, staff, 50),
        ("record, the patient", lambda i: record, patient, 50),
        ("record, a caring doctor", lambda i: record, doctor, 50),
        ("record ?kind=visit", lambda i: record + "?kind=visit", staff, 50),
        (f"record ?text={TEXT_WORD}", lambda i: record + "?" + urlencode({"text": TEXT_WORD}), staff, 50),
        (
            f"record ?text={TEXT_WORD}, a caring doctor",
            lambda i: record + "?" + urlencode({"text": TEXT_WORD}),
            doctor,
            50,
        ),
        (f"record ?from/to ({w.year})", lambda i: record + "?" + period, staff, None),
        ("search surname prefix", search(w.surname_prefixes), staff, 20),
        ("search first name", search(w.first_names), staff, 20),
        ("search birth date", search(w.birth_dates), staff, 1),
        ("search policy number", search(w.policies), staff, 1),
    ]
    results = []
    for name, url, headers, expect_min in cases:
        for i in range(warmup):
            r = client.get(url(i), headers=headers)
            assert r.status_code == 200, (url(i), r.status_code, r.get_data(as_text=True))
        first = client.get(url(0), headers=headers).json
        assert expect_min is None or len(first) >= expect_min, (name, len(first))
        before = counter.count
        client.get(url(0), headers=headers)
        statements = counter.count - before
        times = []
        for i in range(n_requests):
            t0 = time.perf_counter()
            r = client.get(url(i), headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.get_data(as_text=True)
        p50, p95 = statistics.median(times), pct(times, 95)
        results.append((label, name, p50, p95))
        print(
            f"  {name:34s} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {max(times):6.1f} ms   "
            f"rows {len(first):3d}   SQL statements/request: {statements}"
            f"{'' if p95 < 100 else '   <-- p95 over 100 ms'}",
            flush=True,
        )
    app.extensions["telemed.db"].dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case (>= 100)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    args = parser.parse_args()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results += run(
            f"sqlite:///{tmp}/bench.sqlite3",
            tmp / "inst",
            args.patients,
            args.requests,
            args.warmup,
            "sqlite",
        )
        if args.postgres:
            from tests.support.pg import PostgresServer, find_bindir

            bindir = find_bindir()
            if bindir is None:
                sys.exit("no PostgreSQL server binaries found (set TELEMED_PG_BINDIR)")
            server = PostgresServer(bindir)
            server.start()
            try:
                results += run(
                    server.create_database("bench"),
                    tmp / "inst-pg",
                    args.patients,
                    args.requests,
                    args.warmup,
                    "postgresql",
                )
            finally:
                server.stop()
    missed = [r for r in results if r[3] >= 100]
    print(
        f"total {time.perf_counter() - started:.0f}s; "
        + (
            "every p95 under 100 ms"
            if not missed
            else "p95 over 100 ms: " + "; ".join(f"{lb} {n} {p95:.0f} ms" for lb, n, _, p95 in missed)
        )
    )


if __name__ == "__main__":
    main()
