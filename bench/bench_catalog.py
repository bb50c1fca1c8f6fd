"""Benchmark: catalog latency, SQL statements per request, booking throughput.

Builds a catalog of N doctors (default 500) with 14 days of slots, then prints:
  * p50/p95 latency of GET /api/v1/doctors?specialty=... and GET /api/v1/doctors/{id}/slots
  * SQL statements per request at 50 and at N doctors (must not grow with N)
  * booking throughput (bookings/s) through POST /api/v1/consultations, 1 and 4 client threads

Requests go through the whole Flask stack in-process (test client), without a network hop.
Usage: python bench/bench_catalog.py [--doctors 500] [--requests 200] [--postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from sqlalchemy import event, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telemed import create_app
from telemed.auth import service as auth_service
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import CODES
from telemed.cli import init_database
from telemed.members.models import Contract, Patient, Policy
from telemed.scheduling.models import Slot

DAYS = 14


def build_catalog(app, n_doctors: int) -> list[int]:
    db = app.extensions["telemed.db"]
    today = datetime.now(UTC).date()
    with db.transaction() as s:
        doctors = [
            Doctor(
                full_name=f"Doctor {i:04d}",
                specialty_code=CODES[i % len(CODES)],
                career_start=date(1990 + i % 30, 1 + i % 12, 1),
                education="University",
                degree=None,
            )
            for i in range(n_doctors)
        ]
        s.add_all(doctors)
        s.flush()
        rows = []
        for d in doctors:
            hours = range(24) if d.specialty_code in ("therapist", "pediatrician") else range(9, 18)
            for day in range(DAYS):
                base = datetime.combine(today + timedelta(days=day), dtime.min, tzinfo=UTC)
                for h in hours:
                    for m in (0, 30):
                        start = base + timedelta(hours=h, minutes=m)
                        rows.append(
                            {"doctor_id": d.id, "starts_at": start, "ends_at": start + timedelta(minutes=30)}
                        )
        for i in range(0, len(rows), 20000):
            s.execute(insert(Slot), rows[i : i + 20000])
        return [d.id for d in doctors]


def make_members(app, n: int) -> list[str]:
    db, passwords, version = (
        app.extensions["telemed.db"],
        app.extensions["telemed.passwords"],
        app.config["CONSENT_VERSION"],
    )
    tokens = []
    with db.transaction() as s:
        contract = Contract(
            number="BENCH",
            client="Bench",
            starts_on=date(2000, 1, 1),
            ends_on=date(2100, 1, 1),
            telemedicine=True,
            covered_specialties=list(CODES),
            psychologist_limit=3,
        )
        s.add(contract)
        s.flush()
        for i in range(n):
            u = auth_service.create_user(
                s, passwords, username=f"bench{i}", password="x", role="member", full_name=f"Member {i}"
            )
            auth_service.accept_consent(
                s, u.id, version=version, current_version=version, now=datetime.now(UTC)
            )
            p = Patient(full_name=u.full_name, birth_date=date(1980, 1, 1), user_id=u.id)
            s.add(p)
            s.flush()
            s.add(
                Policy(
                    number=f"BP{i}",
                    patient_id=p.id,
                    contract_id=contract.id,
                    valid_from=date(2000, 1, 1),
                    valid_to=date(2100, 1, 1),
                )
            )
            tokens.append(auth_service.issue_token(s, u, now=datetime.now(UTC), ttl=timedelta(days=1)))
    return tokens


class StatementCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args):
        self.count += 1


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(client, url, headers, n) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        r = client.get(url(i), headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.get_data(as_text=True)
    return out


def run(db_url: str, instance: Path, n_doctors: int, n_requests: int, label: str) -> None:
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "INSTANCE_DIR": str(instance),
            "PASSWORD_HASH": "argon2-fast",
            "SECRET_KEY": "bench",
        }
    )
    init_database(app)
    engine = app.extensions["telemed.db"].engine
    doctor_ids = build_catalog(app, n_doctors)
    tokens = make_members(app, 40)
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    client = app.test_client()
    counter = StatementCounter(engine)

    def per_request(url):
        before = counter.count
        client.get(url, headers=headers)
        return counter.count - before

    def spec(i):
        return f"/api/v1/doctors?specialty={CODES[i % len(CODES)]}"

    def slots(i):
        return f"/api/v1/doctors/{doctor_ids[(i * 7) % len(doctor_ids)]}/slots"

    timed(client, spec, headers, 20)  # warm up
    doctors_ms = timed(client, spec, headers, n_requests)
    slots_ms = timed(client, slots, headers, n_requests)
    q_doctors, q_slots = per_request(spec(0)), per_request(slots(0))
    print(f"[{label}] {n_doctors} doctors, {DAYS} days of slots")
    print(
        f"  GET /doctors?specialty=  p50 {statistics.median(doctors_ms):6.1f} ms   p95 {pct(doctors_ms, 95):6.1f} ms"
        f"   SQL statements/request: {q_doctors}"
    )
    print(
        f"  GET /doctors/{{id}}/slots p50 {statistics.median(slots_ms):6.1f} ms   p95 {pct(slots_ms, 95):6.1f} ms"
        f"   SQL statements/request: {q_slots}"
    )

    free = {}
    for doctor_id in doctor_ids[:40]:
        free[doctor_id] = [
            s["id"] for s in client.get(f"/api/v1/doctors/{doctor_id}/slots", headers=headers).json
        ]
    # adults only: skip pediatrician doctors (their slots would be refused for adult members)
    slot_ids = [
        sid
        for did, ids in free.items()
        if CODES[(did - doctor_ids[0]) % len(CODES)] not in ("pediatrician", "psychologist")
        for sid in ids
    ]
    for threads in (1, 4):
        batch = [slot_ids.pop() for _ in range(200)]
        lock, done = threading.Lock(), []

        def worker(k, batch=batch, lock=lock, done=done):
            c = app.test_client()
            while True:
                with lock:
                    if not batch:
                        return
                    sid = batch.pop()
                r = c.post(
                    "/api/v1/consultations",
                    json={"slot_id": sid},
                    headers={"Authorization": f"Bearer {tokens[k]}"},
                )
                assert r.status_code == 201, r.get_data(as_text=True)
                done.append(1)

        t0 = time.perf_counter()
        ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - t0
        print(f"  booking throughput, {threads} client thread(s): {len(done) / elapsed:6.1f} bookings/s")
    app.extensions["telemed.db"].dispose()


def statements_do_not_grow(tmp: Path) -> None:
    for n in (50, 500):
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/q{n}.sqlite3",
                "INSTANCE_DIR": str(tmp / f"i{n}"),
                "PASSWORD_HASH": "argon2-fast",
                "SECRET_KEY": "bench",
            }
        )
        init_database(app)
        ids = build_catalog(app, n)
        token = make_members(app, 1)[0]
        counter = StatementCounter(app.extensions["telemed.db"].engine)
        c = app.test_client()
        before = counter.count
        c.get("/api/v1/doctors?specialty=therapist", headers={"Authorization": f"Bearer {token}"})
        mid = counter.count
        c.get(f"/api/v1/doctors/{ids[-1]}/slots", headers={"Authorization": f"Bearer {token}"})
        print(f"[statements] {n:4d} doctors: /doctors {mid - before}, /slots {counter.count - mid}")
        app.extensions["telemed.db"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doctors", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        statements_do_not_grow(tmp)
        run(f"sqlite:///{tmp}/bench.sqlite3", tmp / "inst", args.doctors, args.requests, "sqlite")
        if args.postgres:
            from tests.support.pg import PostgresServer, find_bindir

            server = PostgresServer(find_bindir())
            server.start()
            try:
                run(
                    server.create_database("bench"),
                    tmp / "inst-pg",
                    args.doctors,
                    args.requests,
                    "postgresql",
                )
            finally:
                server.stop()


if __name__ == "__main__":
    main()
