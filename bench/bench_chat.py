"""Chat delivery latency and throughput with many consultation rooms active at once.

Usage: ``.venv/bin/python bench/bench_chat.py [--rooms 200] [--fixed-seconds 15] [--sat-seconds 15]
[--only telemed|bare|bare-in-order] [--log-dir DIR]`` (about 2 minutes). Not a test: it prints
figures. Needs ``aiohttp`` (pinned in requirements/test.lock) for the asyncio Socket.IO clients.

The same load runs against three servers, each in its own subprocess on 127.0.0.1:

* **telemed**: ``telemed serve`` (gunicorn, one ``gthread`` worker, Flask-SocketIO ``threading``
  mode, simple-websocket) on SQLite, with one consultation per room, a member and a doctor account each.
  Every ``message`` event is authorized, stored, then broadcast to the room.
* **bare**: the issue's comparison, python-socketio as it ships: a plain
  ``socketio.Server(async_mode="threading")`` (default ``async_handlers=True``: a thread per
  event) in a ``socketio.WSGIApp`` served by Werkzeug's threaded server
  (``run_simple(threaded=True)``, the server ``telemed demo`` uses), with simple-websocket;
  ``join`` enters the room, ``message`` broadcasts to the room and acks.
* **bare-in-order**: the same with ``async_handlers=False``, the setting telemed uses (a
  connection's events handled in order on its own thread); a stricter reference.

Clients: 2 per room (member and doctor), ``socketio.AsyncClient`` over WebSocket (aiohttp), all in
one asyncio loop in this process. The member sends; latency is measured at the doctor's client
(send -> receive), from a ``time.perf_counter_ns()`` stamp put in the message text (same process).

Phases: (1) fixed offered load: every room sends ``--rate`` msg/s (default 1) for ``--fixed-seconds``,
open loop (sends are not held back by acks); (2) saturation: every room sends its next message as
soon as the previous one's ack comes back, for ``--sat-seconds``. CPU% is user+system time of the
server process (and of this client process) over the phase's wall time; 100% = one core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.servers import ServerProcess, free_port, telemed_serve_argv

CONNECT_CONCURRENCY = 20  # the servers' listen backlog: Werkzeug's is 128
CALL_TIMEOUT = 30.0
DRAIN_SECONDS = 10.0
PASSWORD = "secret-pass"  # tests.support.factories.PASSWORD
# The bare servers: "bare" is python-socketio as it ships (``async_handlers=True``: a new thread per
# event); "bare-in-order" handles a connection's events in order on its reader thread, as telemed
# does (``async_handlers=False`` in telemed/__init__.py).
BARE_ASYNC_HANDLERS = {"bare": True, "bare-in-order": False}


# -- the bare python-socketio server (run in its own subprocess) --------------------------------


def serve_bare(port: int, async_handlers: bool) -> None:
    import socketio
    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sio = socketio.Server(
        async_mode="threading", async_handlers=async_handlers, max_http_buffer_size=256 * 1024
    )
    counter = iter(range(1, 2**62))

    @sio.event
    def connect(sid, environ, auth=None):
        return True

    @sio.on("join")
    def join(sid, data):
        sio.enter_room(sid, f"consultation:{data['consultation_id']}")
        return {"ok": True, "messages": []}

    @sio.on("message")
    def message(sid, data):
        mid = next(counter)
        sio.emit(
            "message",
            {"id": mid, "consultation_id": data["consultation_id"], "text": data["text"]},
            to=f"consultation:{data['consultation_id']}",
        )
        return {"ok": True, "id": mid}

    app = socketio.WSGIApp(sio)
    print(f"bare python-socketio on http://127.0.0.1:{port}", flush=True)
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)


# -- subprocess helpers --------------------------------------------------------------------------


class CpuMeter:
    """User+system CPU of processes and their children (gunicorn's worker), together, over an
    interval, as % of one core."""

    def __init__(self, *pids: int):
        import psutil

        self.procs = [psutil.Process(pid) for pid in pids]
        self.proc = self.procs[0]
        self.t0 = self.w0 = 0.0

    def _tree(self) -> list:
        import psutil

        tree = []
        for proc in self.procs:
            tree.append(proc)
            try:
                tree += proc.children(recursive=True)
            except psutil.Error:  # gone meanwhile
                pass
        return tree

    def _cpu(self) -> float:
        import psutil

        total = 0.0
        for proc in self._tree():
            try:
                t = proc.cpu_times()
            except psutil.Error:  # gone meanwhile
                continue
            total += t.user + t.system
        return total

    def start(self) -> None:
        self.t0, self.w0 = self._cpu(), time.monotonic()

    def percent(self) -> float:
        return 100 * (self._cpu() - self.t0) / max(1e-9, time.monotonic() - self.w0)

    def threads(self) -> int:
        import psutil

        total = 0
        for proc in self._tree():
            try:
                total += proc.num_threads()
            except psutil.Error:
                continue
        return total


# -- telemed data --------------------------------------------------------------------------------


def telemed_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env.update(
        TELEMED_INSTANCE_DIR=str(tmp / "instance"),
        TELEMED_DATABASE_URL=f"sqlite:///{tmp}/chat.sqlite3",
        TELEMED_SECRET_KEY="bench",
        TELEMED_PASSWORD_HASH="argon2-fast",
        TELEMED_STORAGE_URL=(tmp / "storage").as_uri(),
        TELEMED_LOGIN_RATE_LIMIT="100000 per minute",
    )
    return env


def seeding_app(env: dict):
    """An app in this process on the server's database (as ``env`` sets it), migrated, to write data."""
    from telemed import create_app
    from telemed.cli import init_database

    app = create_app(
        {
            "INSTANCE_DIR": env["TELEMED_INSTANCE_DIR"],
            "DATABASE_URL": env["TELEMED_DATABASE_URL"],
            "SECRET_KEY": env["TELEMED_SECRET_KEY"],
            "PASSWORD_HASH": "argon2-fast",
            "STORAGE_URL": env["TELEMED_STORAGE_URL"],
        }
    )
    init_database(app)
    return app


def build_rooms(env: dict, n_rooms: int) -> list[tuple[int, str, str]]:
    """``n_rooms`` open consultations, each with its own member and doctor; (cid, member, doctor usernames)."""
    from tests.support.factories import Factory, make_consultation

    app = seeding_app(env)
    f = Factory(app)
    contract = f.contract()
    rooms = []
    for i in range(n_rooms):
        member, patient = f.member(f"bm{i}", contract=contract)
        doctor = f.doctor("therapist", username=f"bd{i}")
        c = make_consultation(f, member, patient, doctor, contract)
        rooms.append((c.id, f"bm{i}", f"bd{i}"))
    app.extensions["telemed.db"].dispose()
    return rooms


def login_all(base: str, usernames: list[str]) -> dict[str, str]:
    """Bearer tokens through ``POST /api/v1/auth/token`` (4 client threads)."""
    import requests

    from tests.support.clients import token_login

    def login(name: str) -> tuple[str, str]:  # doctors: with their authenticator code
        r = token_login(lambda path, body: requests.post(f"{base}{path}", json=body, timeout=30), name)
        r.raise_for_status()
        return name, r.json()["token"]

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(login, usernames))


# -- the load ------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    seconds: float = 0.0
    sent: int = 0
    acked: int = 0
    acked_in_window: int = 0
    ack_errors: int = 0
    timeouts: int = 0
    delivered_in_window: int = 0
    delivered_total: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    server_threads: int = 0
    first_error: object = None


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


class Load:
    """The rooms' clients: members connect to ``url``, doctors to ``peer_url`` (default: the same
    server; another process, to measure delivery across processes). ``server_pids``: the server
    processes whose CPU is measured."""

    def __init__(
        self,
        url: str,
        rooms: list[tuple[int, str, str]],
        server_pid: int,
        *,
        peer_url: str | None = None,
        other_pids: tuple[int, ...] = (),
    ):
        self.url, self.rooms = url, rooms  # (consultation id, member token, doctor token)
        self.peer_url = peer_url or url
        self.server_cpu, self.client_cpu = CpuMeter(server_pid, *other_pids), CpuMeter(os.getpid())
        self.members: list = []
        self.doctors: list = []
        self.phase = ""
        self.window_end = 0
        self.result = PhaseResult()

    def _on_peer_message(self, data) -> None:
        now = time.perf_counter_ns()
        try:
            phase, _room, _seq, stamp = data["text"].split("|")
        except (KeyError, ValueError, AttributeError):
            return
        if phase != self.phase:
            return
        r = self.result
        r.delivered_total += 1
        if now <= self.window_end:
            r.delivered_in_window += 1
        r.latencies_ms.append((now - int(stamp)) / 1e6)

    async def _client(self, token: str, sem: asyncio.Semaphore, peer: bool):
        import socketio

        sio = socketio.AsyncClient(reconnection=False)
        if peer:
            sio.on("message", self._on_peer_message)
        else:
            sio.on("message", lambda data: None)
        async with sem:
            await sio.connect(
                self.peer_url if peer else self.url,
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=30,
            )
        return sio

    async def connect_and_join(self) -> float:
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        t0 = time.perf_counter()
        self.members = await asyncio.gather(*(self._client(m, sem, False) for _, m, _ in self.rooms))
        self.doctors = await asyncio.gather(*(self._client(d, sem, True) for _, _, d in self.rooms))

        async def join(sio, cid):
            async with sem:
                ack = await sio.call("join", {"consultation_id": cid}, timeout=CALL_TIMEOUT)
            if not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack}")

        await asyncio.gather(
            *(
                join(c, cid)
                for c, (cid, _, _) in zip(self.members + self.doctors, self.rooms + self.rooms, strict=True)
            )
        )
        return time.perf_counter() - t0

    def _begin(self, phase: str, seconds: float) -> PhaseResult:
        self.phase, self.result = phase, PhaseResult(seconds=seconds)
        self.server_cpu.start()
        self.client_cpu.start()
        return self.result

    def _end_window(self, r: PhaseResult) -> None:
        r.server_cpu, r.client_cpu = self.server_cpu.percent(), self.client_cpu.percent()
        r.server_threads = self.server_cpu.threads()

    def _ack(self, r: PhaseResult, ack) -> None:
        if isinstance(ack, dict) and ack.get("ok"):
            r.acked += 1
            if time.perf_counter_ns() <= self.window_end:
                r.acked_in_window += 1
        else:
            r.ack_errors += 1
            r.first_error = r.first_error or ack

    async def _drain(self, r: PhaseResult) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while r.delivered_total < r.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def fixed(self, seconds: float, rate: float) -> PhaseResult:
        """Open loop: each room sends ``rate`` msg/s at its own phase offset."""
        r = self._begin("fixed", seconds)
        period_ns = int(1e9 / rate)
        start = time.perf_counter_ns() + 100_000_000
        self.window_end = start + int(seconds * 1e9)
        rnd = random.Random(1)

        async def room(k: int, sio, cid: int):
            t = start + int(rnd.random() * period_ns)
            seq = 0
            while t < self.window_end:
                delay = (t - time.perf_counter_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                seq += 1
                r.sent += 1
                await sio.emit(
                    "message",
                    {"consultation_id": cid, "text": f"fixed|{k}|{seq}|{time.perf_counter_ns()}"},
                    callback=lambda ack=None: self._ack(r, ack),
                )
                t += period_ns

        await asyncio.gather(
            *(
                room(k, sio, cid)
                for k, (sio, (cid, _, _)) in enumerate(zip(self.members, self.rooms, strict=True))
            )
        )
        await asyncio.sleep(max(0.0, (self.window_end - time.perf_counter_ns()) / 1e9))
        self._end_window(r)
        await self._drain(r)
        return r

    async def saturate(self, seconds: float) -> PhaseResult:
        """Closed loop: each room sends its next message when the previous one's ack arrives."""
        import socketio

        r = self._begin("sat", seconds)
        start = time.perf_counter_ns()
        self.window_end = start + int(seconds * 1e9)

        async def room(k: int, sio, cid: int):
            seq = 0
            while time.perf_counter_ns() < self.window_end:
                seq += 1
                r.sent += 1
                try:
                    ack = await sio.call(
                        "message",
                        {"consultation_id": cid, "text": f"sat|{k}|{seq}|{time.perf_counter_ns()}"},
                        timeout=CALL_TIMEOUT,
                    )
                except socketio.exceptions.TimeoutError:
                    r.timeouts += 1
                    continue
                self._ack(r, ack)

        tasks = [
            asyncio.ensure_future(room(k, sio, cid))
            for k, (sio, (cid, _, _)) in enumerate(zip(self.members, self.rooms, strict=True))
        ]
        await asyncio.sleep(seconds)
        self._end_window(r)
        await asyncio.wait(tasks, timeout=CALL_TIMEOUT + 5)
        for t in tasks:
            t.cancel()
        await self._drain(r)
        return r

    async def close(self) -> None:
        async def one(sio):
            with contextlib.suppress(Exception):  # the server is killed right after anyway
                await asyncio.wait_for(sio.disconnect(), 3)

        await asyncio.wait_for(
            asyncio.gather(*(one(s) for s in self.members + self.doctors), return_exceptions=True), 15
        )


async def run_load(url: str, rooms, server_pid: int, args) -> dict:
    load = Load(url, rooms, server_pid)
    try:
        setup = await asyncio.wait_for(load.connect_and_join(), 120)
        await asyncio.sleep(1.0)  # let the connect/join work settle
        fixed = await load.fixed(args.fixed_seconds, args.rate)
        await asyncio.sleep(1.0)
        sat = await load.saturate(args.sat_seconds)
        return {"setup": setup, "fixed": fixed, "sat": sat}
    finally:
        with contextlib.suppress(Exception):
            await load.close()


def run_against(name: str, server: ServerProcess, url: str, rooms, args) -> dict:
    server.wait_ready()
    print(
        f"[{name}] server pid {server.pid} on {url}; {len(rooms)} rooms, {2 * len(rooms)} clients", flush=True
    )
    t0 = time.monotonic()
    try:
        out = asyncio.run(
            asyncio.wait_for(
                run_load(url, rooms, server.pid, args),
                120 + args.fixed_seconds + args.sat_seconds + 3 * CALL_TIMEOUT,
            )
        )
    except BaseException:
        print(f"[{name}] failed; server log tail:\n{server.log_tail()}", flush=True)
        raise
    report(name, out)
    print(f"[{name}] done in {time.monotonic() - t0:.0f} s", flush=True)
    return out


def report(name: str, out: dict) -> None:
    print(f"[{name}] connect + join of all clients: {out['setup']:.1f} s")
    for phase in ("fixed", "sat"):
        r: PhaseResult = out[phase]
        lat = r.latencies_ms
        label = "fixed load " if phase == "fixed" else "saturation "
        print(
            f"[{name}] {label}: sent {r.sent}, acked {r.acked}, refused {r.ack_errors}, timeouts {r.timeouts}, "
            f"delivered {r.delivered_total} ({r.delivered_in_window} within the {r.seconds:.0f} s window)"
        )
        print(
            f"[{name}] {label}: delivered {r.delivered_in_window / r.seconds:7.1f} msg/s, acked "
            f"{r.acked_in_window / r.seconds:7.1f} msg/s; latency p50 {statistics.median(lat) if lat else float('nan'):8.1f} ms"
            f"  p99 {pct(lat, 99):8.1f} ms  max {max(lat) if lat else float('nan'):8.1f} ms"
        )
        print(
            f"[{name}] {label}: server CPU {r.server_cpu:5.1f}%  client CPU {r.client_cpu:5.1f}%  "
            f"server threads {r.server_threads}"
        )
        if r.first_error:
            print(f"[{name}] {label}: first refused ack: {r.first_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--fixed-seconds", type=float, default=15)
    parser.add_argument(
        "--rate", type=float, default=1.0, help="messages per second per room in the fixed phase"
    )
    parser.add_argument("--sat-seconds", type=float, default=15)
    parser.add_argument(
        "--only", choices=("telemed", *BARE_ASYNC_HANDLERS), help="run against one server only"
    )
    parser.add_argument("--log-dir", type=Path, help="keep the server logs here (default: a temporary dir)")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--async-handlers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.async_handlers)
        return

    logging.getLogger("socketio").setLevel(logging.CRITICAL)
    logging.getLogger("engineio").setLevel(logging.CRITICAL)
    results: dict[str, dict] = {}
    servers: list[ServerProcess] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp_name:
        tmp = Path(tmp_name)
        logs = args.log_dir or tmp
        logs.mkdir(parents=True, exist_ok=True)
        try:
            if args.only in (None, "telemed"):
                env = telemed_env(tmp)
                t0 = time.monotonic()
                rooms = build_rooms(env, args.rooms)
                print(
                    f"[telemed] {args.rooms} consultations with a member and a doctor each written in "
                    f"{time.monotonic() - t0:.1f} s",
                    flush=True,
                )
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                server = ServerProcess(
                    "telemed", telemed_serve_argv(port), env, logs / "telemed.log", f"{base}/healthz"
                )
                servers.append(server)
                server.wait_ready()
                tokens = login_all(base, [u for _, m, d in rooms for u in (m, d)])
                room_tokens = [(cid, tokens[m], tokens[d]) for cid, m, d in rooms]
                results["telemed"] = run_against("telemed", server, base, room_tokens, args)
                server.stop()
            for name, async_handlers in BARE_ASYNC_HANDLERS.items():
                if args.only not in (None, name):
                    continue
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                argv = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port)]
                server = ServerProcess(
                    name,
                    argv + (["--async-handlers"] if async_handlers else []),
                    dict(os.environ),
                    logs / f"{name}.log",
                    f"{base}/socket.io/?EIO=4&transport=polling",
                )
                servers.append(server)
                room_tokens = [(k + 1, f"m{k}", f"d{k}") for k in range(args.rooms)]
                results[name] = run_against(name, server, base, room_tokens, args)
                server.stop()
        finally:
            for s in servers:
                s.stop()

    print()
    print(
        f"== chat benchmark: {args.rooms} rooms, {2 * args.rooms} socketio.AsyncClient (aiohttp WebSocket) "
        f"clients in one asyncio loop; fixed load {args.rate:g} msg/s/room for {args.fixed_seconds:g} s, "
        f"saturation {args.sat_seconds:g} s; load average {os.getloadavg()[0]:.2f} =="
    )
    header = f"{'':34s}" + "".join(f"{n:>14s}" for n in results)
    print(header)

    def row(label: str, fn) -> None:
        print(f"{label:34s}" + "".join(f"{fn(results[n]):14.1f}" for n in results))

    def throughput(o: dict) -> float:
        return o["sat"].delivered_in_window / o["sat"].seconds

    row("fixed: latency p50 (ms)", lambda o: statistics.median(o["fixed"].latencies_ms or [float("nan")]))
    row("fixed: latency p99 (ms)", lambda o: pct(o["fixed"].latencies_ms, 99))
    row("fixed: delivered msg/s", lambda o: o["fixed"].delivered_in_window / o["fixed"].seconds)
    row("fixed: server CPU %", lambda o: o["fixed"].server_cpu)
    row("saturation: delivered msg/s", throughput)
    row("saturation: latency p50 (ms)", lambda o: statistics.median(o["sat"].latencies_ms or [float("nan")]))
    row("saturation: latency p99 (ms)", lambda o: pct(o["sat"].latencies_ms, 99))
    row("saturation: server CPU %", lambda o: o["sat"].server_cpu)
    row("saturation: client CPU %", lambda o: o["sat"].client_cpu)
    if "telemed" in results:
        for name in BARE_ASYNC_HANDLERS:
            if name in results:
                ratio = throughput(results["telemed"]) / max(1e-9, throughput(results[name]))
                print(
                    f"throughput ratio telemed/{name}: {ratio:.2f} "
                    f"(goal >= 0.70: {'met' if ratio >= 0.7 else 'NOT met'})"
                )
    print(f"total time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
