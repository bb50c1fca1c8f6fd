"""Video call setup time through telemed's signaling, and the app server's CPU per connected call.

Run: ``.venv/bin/python bench/bench_signaling.py [--calls 20] [--setups 20] [--window 30]``
(about 2 minutes, Linux; bounded by ``--budget`` seconds). Not a test: it prints figures.

- The server is ``telemed serve`` in a subprocess on 127.0.0.1 (SQLite, its own process group),
  pinned to CPU 1 when there are two; the aiortc peers run here, pinned to CPU 0.
- Peers are ``tests.support.rtc_peer.RtcPeer``: token login, ice-servers endpoint (nothing
  configured: host candidates only; aioice skips 127.0.0.1 and uses the other local interfaces),
  Socket.IO ``join``, then offer / answer / candidates / end-of-candidates through ``signal``
  (the member offers when ``presence`` shows the doctor). Each call is its own consultation with
  its own member and doctor. Media: a 64x64 VP8 stream at 5 fps each way (just enough to show the
  call is alive; it goes peer to peer, never through the server).
- **Setup time** = from both ``join`` acks received (the later one) to both peer connections
  ``connected`` (the later one). Measured (1) over ``--setups`` sequential calls, each hung up
  before the next, and (2) while building up ``--calls`` concurrent calls.
- **Server CPU per call set-up**: over the sequential calls, from the logins to the hang-up.
- **Server CPU** (user + system of the server process, % of one core) over ``--window`` seconds:
  first with no client at all (baseline), then with ``--calls`` calls connected and idle
  (no chat, no presence changes, only Engine.IO pings). Per call = (loaded - baseline) / calls.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psutil

from bench.servers import ServerProcess, free_port, telemed_serve_argv
from telemed.video.aioloop import AsyncioThread
from tests.support.rtc_peer import RtcPeer

CLIENT_CPU, SERVER_CPU = 0, 1
SIZE, FPS = (64, 64), 5


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def telemed_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env.update(
        TELEMED_INSTANCE_DIR=str(tmp / "instance"),
        TELEMED_DATABASE_URL=f"sqlite:///{tmp}/calls.sqlite3",
        TELEMED_SECRET_KEY="bench",
        TELEMED_PASSWORD_HASH="argon2-fast",
        TELEMED_STORAGE_URL=(tmp / "storage").as_uri(),
        TELEMED_LOGIN_RATE_LIMIT="100000 per minute",
    )
    return env


def build_calls(env: dict, n: int) -> list[tuple[int, str, str]]:
    """``n`` consultations starting in 5 minutes (room open), each with its own member and doctor."""
    from telemed import create_app
    from telemed.cli import init_database
    from tests.support.factories import Factory, make_consultation

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
    f = Factory(app)
    contract = f.contract()
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    calls = []
    for i in range(n):
        member, patient = f.member(f"cm{i}", contract=contract)
        doctor = f.doctor("therapist", username=f"cd{i}")
        c = make_consultation(f, member, patient, doctor, contract, start=start)
        calls.append((c.id, f"cm{i}", f"cd{i}"))
    app.extensions["telemed.db"].dispose()
    return calls


class Server(ServerProcess):
    """``telemed serve``, pinned to one core (``cpu``) unless ``cpu`` is None."""

    def __init__(self, env: dict, port: int, log_path: Path, cpu: int | None) -> None:
        self.url = f"http://127.0.0.1:{port}"
        super().__init__("telemed serve", telemed_serve_argv(port), env, log_path, f"{self.url}/healthz")
        self.cpu = cpu
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})  # new threads inherit it from their creator
        self.ps = psutil.Process(self.proc.pid)

    def pin_threads(self) -> None:
        """Pin the threads that may have started before the first ``sched_setaffinity``."""
        if self.cpu is not None:
            for thread in self.ps.threads():
                os.sched_setaffinity(thread.id, {self.cpu})


class Call:
    def __init__(
        self, url: str, cid: int, member: str, doctor: str, loops: tuple[AsyncioThread, AsyncioThread]
    ):
        self.member = RtcPeer(url, member, cid, loops[0], size=SIZE, fps=FPS)
        self.doctor = RtcPeer(url, doctor, cid, loops[1], size=SIZE, fps=FPS)

    def setup(self, timeout: float = 20) -> float:
        """Start both peers, join (member first), wait for ``connected``; returns the setup time in s."""
        self.member.start()
        self.doctor.start()
        self.member.join()
        self.doctor.join()
        if not (self.member.wait_connected(timeout) and self.doctor.wait_connected(timeout)):
            raise RuntimeError(
                f"call not connected: member {self.member.states}, doctor {self.doctor.states}"
            )
        joined = max(self.member.joined_at, self.doctor.joined_at)
        return max(self.member.connected_at, self.doctor.connected_at) - joined

    def connected(self) -> bool:
        return self.member.state == self.doctor.state == "connected"

    def frames(self) -> int:
        return self.member.frames + self.doctor.frames

    def close(self) -> None:
        for peer in (self.member, self.doctor):
            try:
                peer.close()
            except Exception as exc:
                print(f"closing {peer.username}: {exc!r}", file=sys.stderr)


def summary(label: str, values: list[float]) -> str:
    return (
        f"{label}: n={len(values)}, p50 {1000 * statistics.median(values):.0f} ms, "
        f"p95 {1000 * percentile(values, 95):.0f} ms, max {1000 * max(values):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="concurrent calls held for the CPU window")
    parser.add_argument("--setups", type=int, default=20, help="sequential call setups to time")
    parser.add_argument("--window", type=float, default=30, help="CPU measurement window, seconds")
    parser.add_argument("--baseline", type=float, default=10, help="idle server CPU window, seconds")
    parser.add_argument("--budget", type=float, default=220, help="stop early after this many seconds")
    args = parser.parse_args()
    for name in ("socketio", "engineio", "werkzeug"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    started = time.monotonic()
    pinned = len(os.sched_getaffinity(0)) >= 2
    with tempfile.TemporaryDirectory(prefix="bench-signaling-") as tmp_name:
        tmp = Path(tmp_name)
        env = telemed_env(tmp)
        calls_data = build_calls(env, args.setups + args.calls)
        print(
            f"{len(calls_data)} consultations with a member and a doctor each, in {time.monotonic() - started:.1f} s"
        )
        server = Server(env, free_port(), tmp / "server.log", SERVER_CPU if pinned else None)
        if pinned:
            os.sched_setaffinity(0, {CLIENT_CPU})
        loops = (AsyncioThread("bench-members").start(), AsyncioThread("bench-doctors").start())
        held: list[Call] = []
        try:
            server.wait_ready()
            server.pin_threads()
            print(
                f"telemed serve pid {server.proc.pid} on {server.url}"
                f"{f', pinned to CPU {SERVER_CPU}; peers on CPU {CLIENT_CPU}' if pinned else ''}",
                flush=True,
            )

            # idle server
            time.sleep(1)
            cpu0, t0 = server.cpu_seconds(), time.monotonic()
            time.sleep(args.baseline)
            idle = 100 * (server.cpu_seconds() - cpu0) / (time.monotonic() - t0)

            # sequential setups, each call hung up before the next
            sequential: list[float] = []
            setup_cpu0 = server.cpu_seconds()
            for cid, member, doctor in calls_data[: args.setups]:
                if time.monotonic() - started > args.budget / 2:
                    print("(time budget: fewer sequential setups)")
                    break
                call = Call(server.url, cid, member, doctor, loops)
                try:
                    sequential.append(call.setup())
                finally:
                    call.close()
            setup_cpu = (server.cpu_seconds() - setup_cpu0) / max(1, len(sequential))
            print(summary("call setup (both joined -> both connected), sequential", sequential), flush=True)
            print(
                f"server CPU per call from login to hang-up (2 logins, 2 ice-servers, 2 connects + joins, "
                f"offer/answer/candidates, 2 byes + disconnects): {1000 * setup_cpu:.0f} ms"
            )

            # build up concurrent calls and keep them
            building: list[float] = []
            for cid, member, doctor in calls_data[args.setups :]:
                if time.monotonic() - started > args.budget - args.window - 20:
                    print("(time budget: fewer concurrent calls)")
                    break
                call = Call(server.url, cid, member, doctor, loops)
                held.append(call)
                building.append(call.setup())
            n = len(held)
            print(summary(f"call setup while building up to {n} concurrent calls", building), flush=True)
            everything = sequential + building
            p95 = percentile(everything, 95)
            print(
                summary("call setup, all", everything)
                + f"  (goal p95 < 1 s: {'met' if p95 < 1 else 'NOT met'})"
            )

            # server CPU with n calls connected and idle on the signaling side
            time.sleep(2)
            frames0 = sum(c.frames() for c in held)
            cpu0, own0, t0 = server.cpu_seconds(), sum(os.times()[:2]), time.monotonic()
            time.sleep(args.window)
            elapsed = time.monotonic() - t0
            loaded = 100 * (server.cpu_seconds() - cpu0) / elapsed
            client = 100 * (sum(os.times()[:2]) - own0) / elapsed
            fps = (sum(c.frames() for c in held) - frames0) / elapsed / max(1, 2 * n)
            still = sum(c.connected() for c in held)
            print(
                f"server CPU over {elapsed:.0f} s: idle (no clients) {idle:.2f}%, with {n} calls connected "
                f"{loaded:.2f}% -> {(loaded - idle) / max(n, 1):.3f}% of one core per call "
                f"({loaded / max(n, 1):.3f}% without subtracting idle); server threads {server.ps.num_threads()}"
            )
            print(
                f"calls still connected at the end: {still}/{n}; media {fps:.1f} fps received per peer "
                f"(sent {FPS}); client process CPU {client:.0f}%"
            )
        finally:
            for call in held:
                call.close()
            for loop in loops:
                loop.stop()
            server.stop()
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
