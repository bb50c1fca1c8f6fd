"""Benchmark: the admin area's import of an insured list of 100,000 rows (dry run, then apply).

Writes a CSV of ``--rows`` people in families of three (the insured adult and the spouse, each with
an e-mail, and a child), then, each in a fresh process so that its memory is its own, runs
``insured_apply.run`` on it for a new contract: a dry run (checks only), then the import (patients,
policies, accounts with invitations, guardianships, in one transaction), then the same file again
(everything unchanged). Prints seconds and the peak memory growth of each (RSS: the process's peak
less its size before reading the file); goals: < 60 s and < 200 MiB each.

Then slot generation for 500 doctors × 28 days (``bench_slots.py``, goal < 10 s), on the same
database kinds.

Usage: .venv/bin/python bench/bench_admin.py [--rows 100000] [--doctors 500] [--days 28] [--postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_slots import bench_slots
from bench.servers import throwaway_postgres
from telemed import create_app
from telemed.admin import insured_apply
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.cli import init_database
from telemed.members.models import Contract

GOAL_S, GOAL_MIB = 60.0, 200.0
HEADER = "policy_number,full_name,birth_date,relation,main_policy_number,valid_from,valid_to,email\n"


def config(db_url: str, instance: Path) -> dict:
    return {
        "DATABASE_URL": db_url,
        "INSTANCE_DIR": str(instance),
        "PASSWORD_HASH": "argon2-fast",
        "SECRET_KEY": "bench",
        "ACCESS_LOG": False,
    }


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for i in range(rows):
            family, member = divmod(i, 3)
            main = f"B-{family * 3:07d}"
            number = f"B-{i:07d}"
            if member == 0:
                row = f"{number},Иванов Иван {family},01.02.1980,self,,01.01.2026,31.12.2026,m{family}@example.org"
            elif member == 1:
                row = f"{number},Иванова Мария {family},03.04.1982,spouse,{main},01.01.2026,31.12.2026,s{family}@example.org"
            else:
                row = f"{number},Иванов Миша {family},05.06.2018,child,{main},01.01.2026,31.12.2026,"
            f.write(row + "\n")


def setup(cfg: dict) -> tuple[int, int]:
    app = create_app(cfg)
    init_database(app)
    with app.extensions["telemed.db"].transaction() as s:
        admin = User(username="bench-admin", password_hash="!", role="admin", full_name="Admin")
        contract = Contract(
            number="BENCH-1",
            client="ООО «Бенч»",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            covered_specialties=["therapist"],
        )
        s.add_all([admin, contract])
        s.flush()
        ids = admin.id, contract.id
    app.extensions["telemed.db"].dispose()
    return ids


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def phase(cfg: dict, admin_id: int, contract_id: int, csv_path: str, dry_run: bool, results) -> None:
    app = create_app(cfg)
    actor = Actor(id=admin_id, role="admin", name="Admin")
    before = _rss_mib()
    t0 = time.perf_counter()
    with open(csv_path, "rb") as stream, app.extensions["telemed.db"].transaction() as s:
        outcome = insured_apply.run(s, actor, contract_id, stream, dry_run=dry_run, now=datetime.now(UTC))
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    results.put((elapsed, peak - before, outcome.as_dict() | {"errors": len(outcome.errors)}))


def run(db_url: str, instance: Path, csv_path: Path, label: str) -> None:
    cfg = config(db_url, instance)
    admin_id, contract_id = setup(cfg)
    ctx = mp.get_context("spawn")
    for name, dry_run in (("dry run", True), ("import", False), ("re-import", False)):
        results = ctx.Queue()
        proc = ctx.Process(target=phase, args=(cfg, admin_id, contract_id, str(csv_path), dry_run, results))
        proc.start()
        elapsed, growth, outcome = results.get(timeout=3600)
        proc.join()
        ok = elapsed < GOAL_S and growth < GOAL_MIB and outcome["errors"] == 0
        print(
            f"[{label}] {name}: {outcome['rows']} rows in {elapsed:.1f} s, peak memory growth {growth:.0f} MiB "
            f"(created {outcome['created']}, updated {outcome['updated']}, unchanged {outcome['unchanged']}, "
            f"applied {outcome['applied']}); goal {GOAL_S:.0f} s, {GOAL_MIB:.0f} MiB: {'met' if ok else 'MISSED'}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--doctors", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        csv_path = tmp_path / "insured.csv"
        write_csv(csv_path, args.rows)
        print(f"insured list: {args.rows} rows, {csv_path.stat().st_size / 2**20:.1f} MiB", flush=True)
        run(f"sqlite:///{tmp_path}/bench.sqlite3", tmp_path / "inst", csv_path, "sqlite")
        bench_slots(
            f"sqlite:///{tmp_path}/slots.sqlite3",
            tmp_path / "inst-slots",
            doctors=args.doctors,
            days=args.days,
            label="sqlite",
        )
        if args.postgres:
            with throwaway_postgres() as create_database:
                run(create_database("bench"), tmp_path / "inst-pg", csv_path, "postgresql")
                bench_slots(
                    create_database("slots"),
                    tmp_path / "inst-pg-slots",
                    doctors=args.doctors,
                    days=args.days,
                    label="postgresql",
                )


if __name__ == "__main__":
    main()
