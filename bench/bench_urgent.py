"""Urgent queue latency: how fast doctors hear of a request, a member of the doctor who took theirs,
and how fast a doctor's queue is listed.

Usage: ``.venv/bin/python bench/bench_urgent.py [--waiting 300] [--connected N] [--doctors 20] [--requests 100]
[--claims 100] [--queue-size 1000] [--gets 200] [--postgres]`` (1–2 minutes per database). Not a
test: it prints figures. Needs ``aiohttp`` (pinned in requirements/test.lock).

Data is written directly through the factories and the urgent services (a contract, members with
their consent and policies, ``--doctors`` therapists on duty, ``--waiting`` waiting requests), then
``telemed serve`` (gunicorn's ``gthread`` worker with the outbox relay) runs in a subprocess on a free
127.0.0.1 port. Every doctor and every waiting member connects over Socket.IO (WebSocket, aiohttp
asyncio clients in this process); the members ``join`` their consultation rooms.

1. request -> the ``urgent_queue`` ``added`` event at EVERY on-duty doctor: ``POST /api/v1/urgent``
   by a new member, timed until the last of the doctors has the event; one request after another
   with a short pause; the queue grows from ``--waiting``.
2. claim -> the member's ``urgent_status`` ``in_progress``: doctors round-robin take the oldest
   waiting request (``POST /api/v1/urgent/{id}/claim``), timed until its member's client has the
   event; the doctor then finishes the visit (so they may claim again), untimed.
3. ``GET /api/v1/urgent/queue`` as a therapist with ``--queue-size`` requests waiting (topped up
   through the service), sequential; plus the SQL statements one such request runs (in-process).

Times are ``time.perf_counter`` in this process (sender and receivers share the clock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.servers import ServerProcess, free_port, telemed_serve_argv

CONNECT_CONCURRENCY = 20  # well within the server's listen backlog
EVENT_TIMEOUT = 10.0
PAUSE = 0.05  # between two timed operations
GOALS = {"request": 150.0, "claim": 150.0, "queue": 30.0}  # p95, ms


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):6.1f} ms   p95 {pct(values, 95):6.1f} ms   max {max(values):6.1f} ms"
    )


def make_app(config: dict):
    from telemed import create_app

    return create_app(config)


class World:
    """The bench's data, written in this process (the server reads the same database)."""

    def __init__(self, config: dict, n_doctors: int):
        from telemed.cli import init_database
        from tests.support.factories import Factory

        self.app = make_app(config)
        init_database(self.app)
        self.factory = Factory(self.app)
        self.contract = self.factory.contract()
        self.doctors = [
            self.factory.doctor("therapist", username=f"urgdoc{i}", name=f"Therapist {i}")
            for i in range(n_doctors)
        ]
        self.members: list[tuple[object, object]] = []  # (user, patient)
        self.waiting_ids: list[int] = []  # the requests of the connected members, oldest first

    @property
    def db(self):
        return self.app.extensions["telemed.db"]

    def add_members(self, n: int) -> list[tuple[object, object]]:
        start = len(self.members)
        new = [
            self.factory.member(f"urgmem{start + i}", contract=self.contract, birth_date=date(1985, 3, 1))
            for i in range(n)
        ]
        self.members += new
        return new

    def tokens(self, users) -> list[str]:
        from telemed.auth import service as auth_service

        now = datetime.now(UTC)
        with self.db.transaction() as s:
            return [auth_service.issue_token(s, u, now=now, ttl=timedelta(days=1)) for u in users]

    def ask(self, users) -> list[int]:
        from tests.support import urgent as u

        return [u.ask(self.app, user, reason="Fever since this morning") for user in users]

    def top_up(self, n: int) -> None:
        """``n`` more waiting requests (new members), written through the service."""
        self.ask([m for m, _ in self.add_members(n)])
        self.outbox_sent()
        self.analyze()

    def analyze(self) -> None:
        """Fresh planner statistics after seeding, as PostgreSQL's autovacuum keeps them in service
        (a bulk load is timed otherwise with the empty tables' estimates)."""
        if self.db.is_sqlite:
            return
        from sqlalchemy import text

        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))

    def outbox_sent(self) -> None:
        """Mark the outbox's pending events delivered: what seeding wrote is not part of a figure."""
        from sqlalchemy import update

        from telemed.notify.models import OutboxEvent

        with self.db.transaction() as s:
            s.execute(
                update(OutboxEvent)
                .where(OutboxEvent.delivered_at.is_(None))
                .values(delivered_at=datetime.now(UTC), claimed_by="bench")
                .execution_options(synchronize_session=False)
            )

    def queue_statements(self, token: str) -> tuple[int, int]:
        """SQL statements of one ``GET /api/v1/urgent/queue`` (in-process), and the queue's length."""
        from sqlalchemy import event

        count = [0]

        def on_execute(*_args):
            count[0] += 1

        engine = self.db.engine
        client = self.app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        client.get("/api/v1/urgent/queue", headers=headers)  # warm up
        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            r = client.get("/api/v1/urgent/queue", headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        assert r.status_code == 200, r.get_data(as_text=True)
        return count[0], len(r.json)


class Clients:
    """The Socket.IO clients: doctors record ``urgent_queue``, members ``urgent_status``."""

    def __init__(self, url: str, n_doctors: int):
        self.url, self.n_doctors = url, n_doctors
        self.added: dict[int, list[float]] = {}  # request id -> receive times at the doctors
        self.added_all: dict[int, asyncio.Event] = {}
        self.in_progress: dict[int, float] = {}  # consultation id -> receive time at its member
        self.in_progress_seen: dict[int, asyncio.Event] = {}
        self.sockets: list = []

    def _event(self, table: dict, key: int) -> asyncio.Event:
        if key not in table:
            table[key] = asyncio.Event()
        return table[key]

    def _on_queue(self, data) -> None:
        t = time.perf_counter()
        if data.get("action") != "added":
            return
        rid = data["request"]["id"]
        times = self.added.setdefault(rid, [])
        times.append(t)
        if len(times) == self.n_doctors:
            self._event(self.added_all, rid).set()

    def _on_status(self, data) -> None:
        t = time.perf_counter()
        if data.get("status") == "in_progress":
            cid = data["consultation_id"]
            self.in_progress.setdefault(cid, t)
            self._event(self.in_progress_seen, cid).set()

    async def connect(self, token: str, sem: asyncio.Semaphore, doctor: bool, join: int | None = None):
        import socketio

        sio = socketio.AsyncClient(reconnection=False)
        if doctor:
            sio.on("urgent_queue", self._on_queue)
        else:
            sio.on("urgent_status", self._on_status)
        async with sem:
            await sio.connect(self.url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
            if join is not None:
                ack = await sio.call("join", {"consultation_id": join}, timeout=30)
                if not ack.get("ok"):
                    raise RuntimeError(f"join refused: {ack}")
        self.sockets.append(sio)
        return sio

    async def close(self) -> None:
        await asyncio.gather(*(s.disconnect() for s in self.sockets), return_exceptions=True)


async def run_load(args, world: World, url: str, server: ServerProcess) -> dict:
    import aiohttp

    doctor_tokens = world.tokens(_doctor_users(world))
    waiting_members = world.members[: args.connected]
    waiting_ids = world.waiting_ids[: args.connected]
    member_tokens = world.tokens([m for m, _ in waiting_members])
    clients = Clients(url, len(world.doctors))
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
    t0 = time.perf_counter()
    await asyncio.gather(*(clients.connect(t, sem, doctor=True) for t in doctor_tokens))
    await asyncio.gather(
        *(
            clients.connect(t, sem, doctor=False, join=cid)
            for t, cid in zip(member_tokens, waiting_ids, strict=True)
        )
    )
    connect_s = time.perf_counter() - t0
    results: dict = {"connect_s": connect_s}

    async with aiohttp.ClientSession(base_url=url) as http:

        async def call(method: str, path: str, token: str, **kw) -> tuple[int, dict | list]:
            async with http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw) as r:
                return r.status, await r.json()

        # the doctors are on duty (set at seeding) and connected: all of them hear of a request
        for token in doctor_tokens:
            status, body = await call("GET", "/api/v1/duty", token)
            assert status == 200 and body["on_duty"], body
        await asyncio.sleep(1)

        # 1. request -> every on-duty doctor's urgent_queue added
        new_members = world.members[args.waiting : args.waiting + args.requests]
        new_tokens = world.tokens([m for m, _ in new_members])
        fanout, posts = [], []
        for token in new_tokens:
            t0 = time.perf_counter()
            status, body = await call("POST", "/api/v1/urgent", token, json={"reason": "Fever"})
            posted = time.perf_counter()
            assert status == 201, body
            rid = body["id"]
            await asyncio.wait_for(clients._event(clients.added_all, rid).wait(), EVENT_TIMEOUT)
            fanout.append((max(clients.added[rid]) - t0) * 1000)
            posts.append((posted - t0) * 1000)
            await asyncio.sleep(PAUSE)
        results["request"], results["request_post"] = fanout, posts

        # 2. claim -> the member's urgent_status in_progress; the doctor then finishes the visit
        claims, claim_posts, finishes = [], [], []
        for i, cid in enumerate(waiting_ids[: args.claims]):
            token = doctor_tokens[i % len(doctor_tokens)]
            t0 = time.perf_counter()
            status, body = await call("POST", f"/api/v1/urgent/{cid}/claim", token)
            posted = time.perf_counter()
            assert status == 200 and body["status"] == "in_progress", body
            await asyncio.wait_for(clients._event(clients.in_progress_seen, cid).wait(), EVENT_TIMEOUT)
            claims.append((clients.in_progress[cid] - t0) * 1000)
            claim_posts.append((posted - t0) * 1000)
            t1 = time.perf_counter()
            status, body = await call("POST", f"/api/v1/consultations/{cid}/finish", token)
            finishes.append((time.perf_counter() - t1) * 1000)
            assert status == 200 and body["status"] == "completed", body
            await asyncio.sleep(PAUSE)
        results["claim"], results["claim_post"], results["finish"] = claims, claim_posts, finishes

        # 3. GET /urgent/queue with --queue-size waiting
        status, body = await call("GET", "/api/v1/urgent/queue", doctor_tokens[0])
        more = args.queue_size - len(body)
        if more > 0:
            await asyncio.to_thread(world.top_up, more)
        await asyncio.sleep(1.5)  # let the relay settle
        status, body = await call("GET", "/api/v1/urgent/queue", doctor_tokens[0])
        assert status == 200, body
        results["queue_len"] = len(body)
        for _ in range(10):  # warm up
            await call("GET", "/api/v1/urgent/queue", doctor_tokens[1])
        gets = []
        for i in range(args.gets):  # timed until the body is read; it is decoded after
            headers = {"Authorization": f"Bearer {doctor_tokens[i % len(doctor_tokens)]}"}
            t0 = time.perf_counter()
            async with http.get("/api/v1/urgent/queue", headers=headers) as r:
                raw = await r.read()
            gets.append((time.perf_counter() - t0) * 1000)
            assert r.status == 200 and len(json.loads(raw)) == results["queue_len"], raw[:200]
        results["queue"] = gets
        results["queue_sql"] = world.queue_statements(doctor_tokens[0])

    await clients.close()
    return results


def _doctor_users(world: World):
    from tests.support import urgent as u

    return [u.user_of(world.app, f"urgdoc{i}") for i in range(len(world.doctors))]


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def run(args, db_url: str, tmp: Path, label: str) -> dict:
    from tests.support import urgent as u

    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env.update(
        TELEMED_INSTANCE_DIR=str(tmp / "instance"),
        TELEMED_DATABASE_URL=db_url,
        TELEMED_SECRET_KEY="bench",
        TELEMED_PASSWORD_HASH="argon2-fast",
        TELEMED_STORAGE_URL=(tmp / "storage").as_uri(),
    )
    config = {
        "INSTANCE_DIR": env["TELEMED_INSTANCE_DIR"],
        "DATABASE_URL": db_url,
        "SECRET_KEY": "bench",
        "PASSWORD_HASH": "argon2-fast",
        "STORAGE_URL": env["TELEMED_STORAGE_URL"],
    }
    t0 = time.perf_counter()
    world = World(config, args.doctors)
    for user in _doctor_users(world):
        u.set_duty(world.app, user)
    world.add_members(args.waiting + args.requests)
    world.waiting_ids = world.ask([m for m, _ in world.members[: args.waiting]])
    world.outbox_sent()
    world.analyze()
    print(f"[{label}] seeded in {time.perf_counter() - t0:.1f} s", flush=True)

    port = free_port()
    server = ServerProcess(
        f"telemed serve ({label})",
        telemed_serve_argv(port),
        env,
        tmp / f"serve-{label}.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    try:
        server.wait_ready()
        cpu0, own0 = server.cpu_seconds(), _own_cpu()
        w0 = time.perf_counter()
        results = asyncio.run(run_load(args, world, f"http://127.0.0.1:{port}", server))
        wall = time.perf_counter() - w0
        results["server_cpu"] = 100 * (server.cpu_seconds() - cpu0) / wall
        results["client_cpu"] = 100 * (_own_cpu() - own0) / wall  # includes the top-up's seeding
        results["load"] = os.getloadavg()[0]
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
        world.db.dispose()
    report(args, label, results)
    return results


def report(args, label: str, r: dict) -> None:
    def goal(key: str, values: list[float]) -> str:
        ok = pct(values, 95) < GOALS[key]
        return f"(goal p95 < {GOALS[key]:.0f} ms: {'met' if ok else 'MISSED'})"

    print(
        f"[{label}] {args.doctors} therapists on duty connected, {args.waiting} members waiting "
        f"({args.connected} connected and joined, sockets up in {r['connect_s']:.1f} s); CPU % of a core: "
        f"server {r['server_cpu']:.0f}, this process {r['client_cpu']:.0f}; load average {r['load']:.1f} "
        f"on {os.cpu_count()} cores"
    )
    print(
        f"  request -> last doctor's urgent_queue  {summary(r['request'])}   {goal('request', r['request'])}"
    )
    print(f"    (POST /urgent answered              {summary(r['request_post'])})")
    print(f"  claim -> member's urgent_status       {summary(r['claim'])}   {goal('claim', r['claim'])}")
    print(f"    (POST /urgent/{{id}}/claim answered   {summary(r['claim_post'])})")
    print(f"    (POST /consultations/{{id}}/finish    {summary(r['finish'])})")
    statements, length = r["queue_sql"]
    print(
        f"  GET /urgent/queue ({r['queue_len']} waiting)  {summary(r['queue'])}   {goal('queue', r['queue'])}"
        f"   SQL statements/request: {statements} (in-process, {length} items)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--doctors", type=int, default=20, help="therapists on duty, connected")
    parser.add_argument("--waiting", type=int, default=300, help="members waiting, connected and joined")
    parser.add_argument(
        "--connected",
        type=int,
        help="of the waiting members, how many connect and join (default: all); the claims take theirs",
    )
    parser.add_argument("--requests", type=int, default=100, help="timed requests")
    parser.add_argument("--claims", type=int, default=100, help="timed claims")
    parser.add_argument("--queue-size", type=int, default=1000, help="waiting requests for GET /urgent/queue")
    parser.add_argument("--gets", type=int, default=200, help="timed GET /urgent/queue")
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    parser.add_argument("--only-postgres", action="store_true", help="run on PostgreSQL only")
    args = parser.parse_args()
    args.connected = args.waiting if args.connected is None else min(args.connected, args.waiting)
    if args.claims > args.connected:
        parser.error("--claims must not exceed --connected (claims take the connected members' requests)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.only_postgres:
            run(args, f"sqlite:///{tmp}/urgent.sqlite3", tmp / "sqlite", "sqlite")
        if args.postgres or args.only_postgres:
            from tests.support.pg import PostgresServer, find_bindir

            bindir = find_bindir()
            if bindir is None:
                sys.exit("PostgreSQL binaries not found")
            pg = PostgresServer(bindir)
            pg.start()
            try:
                run(args, pg.create_database("bench"), tmp / "pg", "postgresql")
            finally:
                with contextlib.suppress(Exception):
                    pg.stop()


if __name__ == "__main__":
    main()
