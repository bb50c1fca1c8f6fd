"""Benchmark: 10,000 reminders falling due at once, delivered by ``telemed worker`` over SMTP.

Builds, with bulk inserts, 10,000 planned consultations of 10,000 members (each with an e-mail
address) that start in two days, and a real SMTP server (aiosmtpd) on a loopback port. Then, at a
moment when every "reminder a day before" is due, it runs the worker's jobs (``run_due``, as
``telemed worker`` does every second) in separate processes until the outbox is empty:

  1. one worker: the time from its first run until the SMTP server has received all 10,000
     messages (goal: 60 s); they start within 8.5 hours, so at the moment chosen (12 hours before the first) every one of them is due;
  2. the same again (everything reset) with two workers started together: how many messages the
     server received, and how many of them were for a notification already received (goal: 0).

Each message's Message-ID names its notification, so a second copy is counted, not hidden.

Usage: .venv/bin/python bench/bench_notify.py [--reminders 10000] [--postgres]
(about a minute per database on 2 cores).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller

from bench.servers import free_port, throwaway_postgres
from telemed import create_app
from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.cli import init_database
from telemed.members.models import Contract, Patient, Policy
from telemed.notifications.models import MailMessage, Notification
from telemed.notify.models import OutboxEvent
from telemed.scheduling.models import Consultation, ReminderMark, Slot

CHUNK = 2_000
DOCTORS = 100
GOAL_S = 60.0


class Counting:
    """The SMTP server's handler: counts messages and the notifications they carry."""

    def __init__(self) -> None:
        self.total = 0
        self.ids: set[str] = set()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        head = envelope.content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        mid = next(
            (
                line.split(":", 1)[1].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("message-id:")
            ),
            "",
        )
        with self.lock:
            self.total += 1
            self.ids.add(mid)
        return "250 OK"


def config(db_url: str, instance: Path, smtp_url: str) -> dict:
    return {
        "DATABASE_URL": db_url,
        "INSTANCE_DIR": str(instance),
        "PASSWORD_HASH": "argon2-fast",
        "SECRET_KEY": "bench",
        "SMTP_URL": smtp_url,
        "ACCESS_LOG": False,
    }


def build(app, n: int, start: datetime) -> None:
    """``n`` members, each with one planned consultation at ``start`` + a few minutes."""
    db = app.extensions["telemed.db"]
    created = start - timedelta(days=7)
    with db.transaction() as s:
        contract = Contract(
            number="BENCH-1",
            client="Bench LLC",
            starts_on=date.today() - timedelta(days=30),
            ends_on=date.today() + timedelta(days=335),
            covered_specialties=["therapist"],
        )
        s.add(contract)
        s.flush()
        contract_id = contract.id
        s.execute(
            insert(Doctor),
            [
                {
                    "full_name": f"Врач {i}",
                    "specialty_code": "therapist",
                    "career_start": date(2010, 1, 1),
                    "education": "-",
                    "is_active": True,
                }
                for i in range(DOCTORS)
            ],
        )
        doctor_ids = list(s.scalars(select(Doctor.id).order_by(Doctor.id)))
    for lo in range(0, n, CHUNK):
        ids = range(lo, min(n, lo + CHUNK))
        with db.transaction() as s:
            user_ids = s.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {
                        "username": f"m{i}",
                        "password_hash": "-",
                        "role": "member",
                        "full_name": f"Участник {i}",
                        "email": f"m{i}@example.org",
                        "is_active": True,
                        "created_at": created,
                    }
                    for i in ids
                ],
            ).all()
            patient_ids = s.scalars(
                insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
                [
                    {
                        "user_id": u,
                        "full_name": f"Участник {i}",
                        "birth_date": date(1980, 1, 1),
                        "created_at": created,
                    }
                    for i, u in zip(ids, user_ids, strict=True)
                ],
            ).all()
            s.execute(
                insert(Policy),
                [
                    {
                        "number": f"BP-{i}",
                        "patient_id": p,
                        "contract_id": contract_id,
                        "valid_from": date.today() - timedelta(days=30),
                        "valid_to": date.today() + timedelta(days=335),
                    }
                    for i, p in zip(ids, patient_ids, strict=True)
                ],
            )
            slots = []
            for i in ids:
                at = start + timedelta(minutes=5 * (i // DOCTORS))  # 100 a doctor: within 8.5 h
                slots.append(
                    {
                        "doctor_id": doctor_ids[i % DOCTORS],
                        "starts_at": at,
                        "ends_at": at + timedelta(minutes=5),
                    }
                )
            slot_ids = s.scalars(insert(Slot).returning(Slot.id, sort_by_parameter_order=True), slots).all()
            s.execute(
                insert(Consultation),
                [
                    {
                        "patient_id": p,
                        "booked_by_id": u,
                        "doctor_id": sl["doctor_id"],
                        "slot_id": slot_id,
                        "contract_id": contract_id,
                        "specialty_code": "therapist",
                        "mode": "planned",
                        "status": "scheduled",
                        "reason": "",
                        "starts_at": sl["starts_at"],
                        "ends_at": sl["ends_at"],
                        "created_at": created,
                    }
                    for u, p, sl, slot_id in zip(user_ids, patient_ids, slots, slot_ids, strict=True)
                ],
            )


def reset(app) -> None:
    with app.extensions["telemed.db"].transaction() as s:
        for model in (MailMessage, Notification, OutboxEvent, ReminderMark):
            s.execute(delete(model))


def worker(cfg: dict, moment: datetime, barrier, results) -> None:
    """A ``telemed worker`` whose clock says ``moment``: runs the jobs until nothing is left."""
    from telemed.notifications import mailer
    from telemed.scheduling import notices
    from telemed.worker import run_due

    app = create_app(cfg)
    db = app.extensions["telemed.db"]
    barrier.wait()
    sent = reminders = 0
    while True:
        done = run_due(app, now=moment)
        sent += done["mail_sent"]
        reminders += done["reminders"]
        with db.session() as s:
            if not (mailer.anything_due(s, now=moment) or notices.anything_due(s, now=moment)):
                break
    results.put((reminders, sent))
    db.dispose()


def run_workers(cfg: dict, moment: datetime, handler: Counting, n_workers: int, expected: int) -> dict:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(n_workers + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(cfg, moment, barrier, results)) for _ in range(n_workers)]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    delivered_at = None
    while any(p.is_alive() for p in procs):
        if delivered_at is None and handler.total >= expected:
            delivered_at = time.perf_counter() - started
        time.sleep(0.05)
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    if delivered_at is None and handler.total >= expected:
        delivered_at = elapsed
    per_worker = [results.get(timeout=5) for _ in procs]
    return {"delivered_s": delivered_at, "elapsed_s": elapsed, "per_worker": per_worker}


def run(db_url: str, instance: Path, n: int, label: str) -> list[str]:
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    cfg = config(db_url, instance, f"smtp://127.0.0.1:{port}")
    app = create_app(cfg)
    init_database(app)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    t0 = time.perf_counter()
    build(app, n, start)
    print(f"[{label}] built {n} consultations in {time.perf_counter() - t0:.1f} s", flush=True)
    moment = start - timedelta(hours=12)  # every "a day before" reminder is due
    lines = []
    one = run_workers(cfg, moment, handler, 1, n)
    ok = one["delivered_s"] is not None and one["delivered_s"] <= GOAL_S and len(handler.ids) == n
    lines.append(
        f"[{label}] one worker: {handler.total} of {n} reminders delivered in "
        f"{one['delivered_s'] or float('nan'):.1f} s ({handler.total / (one['delivered_s'] or 1):.0f}/s); "
        f"goal {GOAL_S:.0f} s: {'met' if ok else 'MISSED'}"
    )
    print(lines[-1], flush=True)
    reset(app)
    handler.total, handler.ids = 0, set()
    two = run_workers(cfg, moment, handler, 2, n)
    duplicates = handler.total - len(handler.ids)
    shares = ", ".join(str(sent) for _, sent in two["per_worker"])
    lines.append(
        f"[{label}] two workers: {handler.total} messages for {len(handler.ids)} reminders "
        f"(sent {shares}) in {two['delivered_s'] or float('nan'):.1f} s; sent twice: {duplicates}"
    )
    print(lines[-1], flush=True)
    controller.stop()
    app.extensions["telemed.db"].dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        run(f"sqlite:///{tmp_path}/bench.sqlite3", tmp_path / "inst", args.reminders, "sqlite")
        if args.postgres:
            with throwaway_postgres() as create_database:
                run(create_database("bench"), tmp_path / "inst-pg", args.reminders, "postgresql")


if __name__ == "__main__":
    main()
