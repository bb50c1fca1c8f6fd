"""Benchmark of the admin area: slot generation for 500 doctors × 28 days (goal: under 10 s).

``bench_slots``: 500 doctors, each with a weekly template of 08:00–20:00 on weekdays in 30-minute
slots (24 a day, about 9,600 slots a doctor over 28 days, minus nothing), generated in one
call of ``admin.schedules.generate`` as the worker does; then a second call, which must create
none (idempotent). Prints the seconds of each.

Usage: .venv/bin/python bench/bench_admin.py [--doctors 500] [--days 28] [--postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import throwaway_postgres
from telemed import create_app
from telemed.admin import schedules
from telemed.admin.schedule_models import ScheduleTemplate
from telemed.catalog.models import Doctor
from telemed.cli import init_database
from telemed.scheduling.models import Slot

SLOTS_GOAL_S = 10.0


def bench_slots(url: str, instance: Path, *, doctors: int = 500, days: int = 28, label: str = "") -> float:
    """Generate ``days`` of slots for ``doctors`` doctors with templates; returns the seconds."""
    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(instance), "SECRET_KEY": "bench"})
    init_database(app)
    db = app.extensions["telemed.db"]
    now = datetime.now(UTC).replace(microsecond=0)
    week = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(5)]
    with db.transaction() as s:
        s.execute(
            insert(Doctor),
            [
                {
                    "full_name": f"Doctor {i}",
                    "specialty_code": "therapist",
                    "career_start": date(2010, 1, 1),
                    "education": "University",
                    "is_active": True,
                }
                for i in range(doctors)
            ],
        )
        ids = s.scalars(select(Doctor.id)).all()
        s.execute(
            insert(ScheduleTemplate),
            [
                {
                    "doctor_id": i,
                    "slot_minutes": 30,
                    "timezone": "Europe/Moscow",
                    "days": week,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
    started = time.perf_counter()
    with db.transaction() as s:
        created = schedules.generate(s, now=now, days=days)
    seconds = time.perf_counter() - started
    again = time.perf_counter()
    with db.transaction() as s:
        second = schedules.generate(s, now=now, days=days)
    again_s = time.perf_counter() - again
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Slot))
    verdict = "ok" if seconds < SLOTS_GOAL_S else "over the goal"
    print(
        f"[{label}] slot generation, {doctors} doctors × {days} days: {created} slots in {seconds:.2f} s "
        f"(goal < {SLOTS_GOAL_S:.0f} s: {verdict}); again: {second} created in {again_s:.2f} s; "
        f"{total} in the table"
    )
    db.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doctors", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bench_slots(
            f"sqlite:///{tmp_path}/bench.sqlite3",
            tmp_path / "inst",
            doctors=args.doctors,
            days=args.days,
            label="sqlite",
        )
        if args.postgres:
            with throwaway_postgres() as create_database:
                bench_slots(
                    create_database("bench"),
                    tmp_path / "inst-pg",
                    doctors=args.doctors,
                    days=args.days,
                    label="postgresql",
                )


if __name__ == "__main__":
    main()
