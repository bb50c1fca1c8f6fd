"""Scale-out figures, side by side in one run on this machine: chat across processes over Redis,
and the production server against Werkzeug's development server.

Usage: ``.venv/bin/python bench/bench_scale.py [--rooms 200] [--rate 1] [--fixed-seconds 15]
[--sat-seconds 10] [--concurrency 50] [--http-seconds 10] [--active-requests N] [--only chat|http]``
(about 4 minutes; ``--active-requests`` sets ``TELEMED_ACTIVE_REQUESTS`` of the HTTP servers, ``0``
to compare without admission).
Not a test: it prints figures. Needs PostgreSQL, ``redis-server``, ``nginx`` and ``wrk`` (Debian packages, installed by
``scripts/setup.sh test``); they are started here, on loopback, and removed afterwards.

Chat (``bench_chat``'s load: a member and a doctor per room, the member sends, latency measured at
the doctor's client) against three set-ups on one PostgreSQL:

* **1 process**: one ``telemed serve``, no Redis (the embedded mode);
* **1 process + Redis**: the same with ``TELEMED_REDIS_URL`` (every emit goes through Redis);
* **2 processes + Redis**: members connected to process A, doctors to process B: every message
  crosses processes through Redis.

Each gets a fixed load (``--rooms`` x ``--rate`` msg/s; default 200 msg/s, open loop) and then
saturation (each room sends its next message when the previous one is acknowledged). Goals:
cross-process p99 < 50 ms at 200 msg/s; the Redis hop costs at most 25 % of the single process's
saturation throughput.

HTTP: ``--concurrency`` clients (wrk: closed loop, keep-alive) for ``--http-seconds`` each on
``GET /api/v1/doctors?specialty=therapist`` (bearer token) and the cabinet page (session cookie),
serving the same app on PostgreSQL: Werkzeug's threaded development server (what ``telemed demo``
uses), one ``telemed serve`` (gunicorn, one gthread worker) on its own, and the production deployment
as ``deploy/`` ships it: nginx (the shipped site, HTTPS) in front of two ``telemed serve`` processes
sharing Redis. Goal: the production deployment at least 1.5x the requests/s of Werkzeug, with p99 <
200 ms. One process is CPU-bound either way (the GIL): gunicorn alone brings robustness (graceful
restarts, bounded threads), not speed; speed comes from more processes behind nginx.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.bench_chat import Load, PhaseResult, build_rooms, login_all, pct, seeding_app
from bench.servers import ServerProcess, free_port, telemed_serve_argv

CALL_TIMEOUT = 30.0
GOAL_P99_MS = 50.0
GOAL_REDIS_COST = 0.25
GOAL_HTTP_RATIO = 1.5
GOAL_HTTP_P99_MS = 200.0


def telemed_env(tmp: Path, db_url: str, redis_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env.update(
        TELEMED_INSTANCE_DIR=str(tmp / "instance"),
        TELEMED_DATABASE_URL=db_url,
        TELEMED_SECRET_KEY="bench",
        TELEMED_PASSWORD_HASH="argon2-fast",
        TELEMED_STORAGE_URL=(tmp / "storage").as_uri(),
        TELEMED_LOGIN_RATE_LIMIT="100000 per minute",
    )
    if redis_url:
        env["TELEMED_REDIS_URL"] = redis_url
    return env


WERKZEUG_CODE = (  # the app on Werkzeug's threaded server, as `telemed demo` serves it
    "import sys; from telemed.cli import _app, _serve_werkzeug; "
    "_serve_werkzeug(_app(), '127.0.0.1', int(sys.argv[1]))"
)


def start_server(name: str, env: dict, logs: Path, *, werkzeug: bool = False) -> tuple[ServerProcess, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-c", WERKZEUG_CODE, str(port)] if werkzeug else telemed_serve_argv(port)
    server = ServerProcess(name, argv, env, logs / f"{name}.log", f"{base}/healthz")
    server.wait_ready()
    return server, base


# -- chat --------------------------------------------------------------------------------------------


async def chat_load(url: str, peer_url: str, rooms, pids: list[int], args) -> dict:
    load = Load(url, rooms, pids[0], peer_url=peer_url, other_pids=tuple(pids[1:]))
    try:
        await asyncio.wait_for(load.connect_and_join(), 180)
        await asyncio.sleep(1.0)
        fixed = await load.fixed(args.fixed_seconds, args.rate)
        await asyncio.sleep(1.0)
        sat = await load.saturate(args.sat_seconds)
        return {"fixed": fixed, "sat": sat}
    finally:
        try:
            await load.close()
        except Exception:  # the servers are stopped right after anyway
            pass


def run_chat(args, tmp: Path, logs: Path, db_url: str, redis_url: str) -> dict[str, dict]:
    plain, with_redis = telemed_env(tmp, db_url, None), telemed_env(tmp, db_url, redis_url)
    t0 = time.monotonic()
    rooms = build_rooms(plain, args.rooms)
    print(f"[chat] {args.rooms} consultations written in {time.monotonic() - t0:.1f} s", flush=True)
    results: dict[str, dict] = {}
    tokens: dict[str, str] = {}
    for label, env, two in (
        ("1 process", plain, False),
        ("1 process + Redis", with_redis, False),
        ("2 processes + Redis", with_redis, True),
    ):
        servers = []
        try:
            a, url_a = start_server(f"chat-{label}-A".replace(" ", "-"), env, logs)
            servers.append(a)
            url_b = url_a
            if two:
                b, url_b = start_server(f"chat-{label}-B".replace(" ", "-"), env, logs)
                servers.append(b)
            if not tokens:
                tokens = login_all(url_a, [u for _, m, d in rooms for u in (m, d)])
            room_tokens = [(cid, tokens[m], tokens[d]) for cid, m, d in rooms]
            print(f"[chat] {label}: {2 * len(rooms)} clients", flush=True)
            results[label] = asyncio.run(chat_load(url_a, url_b, room_tokens, [s.pid for s in servers], args))
            fixed, sat = results[label]["fixed"], results[label]["sat"]
            print(
                f"[chat] {label}: fixed p50 {statistics.median(fixed.latencies_ms or [float('nan')]):.1f} ms, "
                f"p99 {pct(fixed.latencies_ms, 99):.1f} ms; saturation {throughput(sat):.0f} msg/s",
                flush=True,
            )
        except BaseException:
            for s in servers:
                print(f"[chat] {s.name} log tail:\n{s.log_tail()}", flush=True)
            raise
        finally:
            for s in servers:
                s.stop()
    return results


def throughput(r: PhaseResult) -> float:
    return r.delivered_in_window / r.seconds


def report_chat(args, results: dict[str, dict]) -> None:
    print(
        f"\n== chat: {args.rooms} rooms, fixed {args.rooms * args.rate:g} msg/s for {args.fixed_seconds:g} s, "
        f"saturation {args.sat_seconds:g} s; PostgreSQL; load average {os.getloadavg()[0]:.2f} =="
    )
    print(f"{'':32s}" + "".join(f"{n:>22s}" for n in results))

    def row(label: str, fn) -> None:
        print(f"{label:32s}" + "".join(f"{fn(results[n]):22.1f}" for n in results))

    row("fixed: delivered msg/s", lambda o: throughput(o["fixed"]))
    row("fixed: latency p50 (ms)", lambda o: statistics.median(o["fixed"].latencies_ms or [float("nan")]))
    row("fixed: latency p99 (ms)", lambda o: pct(o["fixed"].latencies_ms, 99))
    row("fixed: servers' CPU %", lambda o: o["fixed"].server_cpu)
    row("saturation: delivered msg/s", lambda o: throughput(o["sat"]))
    row("saturation: latency p99 (ms)", lambda o: pct(o["sat"].latencies_ms, 99))
    row("saturation: servers' CPU %", lambda o: o["sat"].server_cpu)
    row("saturation: client CPU %", lambda o: o["sat"].client_cpu)
    cross = pct(results["2 processes + Redis"]["fixed"].latencies_ms, 99)
    print(
        f"cross-process p99 at {args.rooms * args.rate:g} msg/s: {cross:.1f} ms "
        f"(goal < {GOAL_P99_MS:g} ms: {'met' if cross < GOAL_P99_MS else 'MISSED'})"
    )
    alone, hop = throughput(results["1 process"]["sat"]), throughput(results["1 process + Redis"]["sat"])
    cost = 1 - hop / max(alone, 1e-9)
    print(
        f"the Redis hop's cost of single-process saturation throughput: {100 * cost:.0f} % "
        f"(goal <= {100 * GOAL_REDIS_COST:.0f} %: {'met' if cost <= GOAL_REDIS_COST else 'MISSED'})"
    )


# -- HTTP --------------------------------------------------------------------------------------------


def http_world(env: dict) -> None:
    """A member with a contract, and doctors of the therapist's specialty to list."""
    from tests.support.factories import Factory

    f = Factory(app := seeding_app(env))
    contract = f.contract()
    f.member("httpmember", contract=contract)
    for i in range(12):
        f.doctor("therapist", username=f"httpdoc{i}", name=f"Терапевт {i}")
    app.extensions["telemed.db"].dispose()


def credentials(base: str) -> tuple[str, dict[str, str]]:
    """A bearer token and a logged-in session cookie of the member."""
    import requests

    from tests.support.factories import PASSWORD

    r = requests.post(
        f"{base}/api/v1/auth/token",
        json={"username": "httpmember", "password": PASSWORD},
        timeout=30,
        verify=False,  # nginx's throwaway certificate
    )
    r.raise_for_status()
    token = r.json()["token"]
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30, verify=False).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = s.post(
        f"{base}/login",
        data={"username": "httpmember", "password": PASSWORD, "csrf_token": csrf},
        headers={"Referer": f"{base}/login"},  # as a browser sends it (checked over HTTPS)
        allow_redirects=False,
        timeout=30,
        verify=False,
    )
    assert r.status_code == 302 and not r.headers["Location"].startswith("/login"), r.headers
    return token, s.cookies.get_dict()


def answer_ok(base: str, path: str, header: str) -> None:
    """Exit unless ``path`` answers 200 with ``header`` (wrk counts a redirect to the login as a success)."""
    import requests

    name, _, value = header.partition(": ")
    r = requests.get(base + path, headers={name: value}, allow_redirects=False, timeout=30, verify=False)
    if r.status_code != 200:
        sys.exit(f"{base}{path} answered {r.status_code} {r.headers.get('Location', '')}, not 200")


WRK_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str) -> float:
    m = WRK_DURATION.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse_wrk(out: str) -> dict:
    """wrk's ``--latency`` report as ``{rps, p50, p99, errors}`` (non-2xx/3xx answers, socket errors)."""
    found = {k: re.search(rf"^\s+{k}%\s+(\S+)", out, re.M) for k in ("50", "99")}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if rps is None or not all(found.values()):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return {
        "rps": float(rps.group(1)),
        "p50": _wrk_ms(found["50"].group(1)),  # type: ignore[union-attr]
        "p99": _wrk_ms(found["99"].group(1)),  # type: ignore[union-attr]
        "errors": errors,
    }


def http_load(base: str, path: str, seconds: float, concurrency: int, header: str) -> dict:
    """``concurrency`` keep-alive connections of wrk (C, one thread: it leaves the CPU to the server
    under test) requesting ``path`` back to back for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk not found (scripts/setup.sh test installs it)")
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{concurrency}",
            f"-d{seconds:g}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            header,
            base + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


HTTP_SETUPS = ("Werkzeug", "telemed serve", "nginx + 2 x telemed serve")
PRODUCTION = HTTP_SETUPS[2]  # the shipped deployment (README "Production"), judged against the goal


@contextlib.contextmanager
def http_setup(label: str, env: dict, logs: Path, redis_url: str):
    """The servers of one set-up; yields (base URL, their processes) and stops them afterwards."""
    from tests.support.nginx import Nginx

    servers: list = []
    proxy = None
    try:
        if label == "Werkzeug":
            server, base = start_server("http-werkzeug", env, logs, werkzeug=True)
            servers.append(server)
        elif label == "telemed serve":
            server, base = start_server("http-serve", env, logs)
            servers.append(server)
        else:  # as deployed: Redis shared, the app trusting the one proxy hop
            behind = {**env, "TELEMED_REDIS_URL": redis_url, "TELEMED_PROXY_HOPS": "1"}
            ports = []
            for name in ("A", "B"):
                server, url = start_server(f"http-nginx-{name}", behind, logs)
                servers.append(server)
                ports.append(urlsplit(url).port)
            proxy = Nginx(logs / "nginx", ports).start()
            base = proxy.url
        yield base, servers
    except BaseException:
        for server in servers:
            print(f"[http] {server.name} log tail:\n{server.log_tail()}", flush=True)
        if proxy is not None:
            print(f"[http] nginx error log:\n{proxy.error_log()}", flush=True)
        raise
    finally:
        if proxy is not None:
            proxy.stop()
        for server in servers:
            server.stop()


def run_http(args, tmp: Path, logs: Path, db_url: str, redis_url: str) -> dict[str, dict]:
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    env = telemed_env(tmp, db_url, None)
    if args.active_requests is not None:
        env["TELEMED_ACTIVE_REQUESTS"] = str(args.active_requests)
    http_world(env)
    results: dict[str, dict] = {}
    for label in HTTP_SETUPS:
        with http_setup(label, env, logs, redis_url) as (base, servers):
            token, cookies = credentials(base)
            out = {}
            for name, path, header in (
                (
                    "GET /api/v1/doctors?specialty=therapist",
                    "/api/v1/doctors?specialty=therapist",
                    f"Authorization: Bearer {token}",
                ),
                (
                    "GET /cabinet (page)",
                    "/cabinet",
                    "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()),
                ),
            ):
                answer_ok(base, path, header)
                http_load(base, path, 2, args.concurrency, header)  # warm up
                cpu0, t0 = sum(s.cpu_seconds() for s in servers), time.perf_counter()
                out[name] = http_load(base, path, args.http_seconds, args.concurrency, header)
                spent = sum(s.cpu_seconds() for s in servers) - cpu0
                out[name]["server_cpu"] = 100 * spent / (time.perf_counter() - t0)
                o = out[name]
                print(
                    f"[http] {label}: {name}: {o['rps']:.0f} req/s, p50 {o['p50']:.1f} ms, "
                    f"p99 {o['p99']:.1f} ms, errors {o['errors']}, app CPU {o['server_cpu']:.0f} %",
                    flush=True,
                )
            results[label] = out
    return results


def report_http(args, results: dict[str, dict]) -> None:
    print(
        f"\n== HTTP: {args.concurrency} concurrent clients, {args.http_seconds:g} s each; "
        f"TELEMED_ACTIVE_REQUESTS {'default' if args.active_requests is None else args.active_requests}; "
        f"load average {os.getloadavg()[0]:.2f} =="
    )
    dev = results["Werkzeug"]
    for name in dev:
        print(name)
        for label in HTTP_SETUPS:
            o = results[label][name]
            ratio = o["rps"] / max(dev[name]["rps"], 1e-9)
            print(
                f"  {label:28s} {o['rps']:7.0f} req/s  p50 {o['p50']:7.1f} ms  p99 {o['p99']:7.1f} ms  "
                f"app CPU {o['server_cpu']:4.0f} %  {ratio:.2f}x Werkzeug"
            )
        p = results[PRODUCTION][name]
        ratio = p["rps"] / max(dev[name]["rps"], 1e-9)
        met = ratio >= GOAL_HTTP_RATIO and p["p99"] < GOAL_HTTP_P99_MS
        print(
            f"  production ({PRODUCTION}): {ratio:.2f}x Werkzeug, p99 {p['p99']:.1f} ms (goal >= "
            f"{GOAL_HTTP_RATIO:g}x with p99 < {GOAL_HTTP_P99_MS:g} ms: {'met' if met else 'MISSED'})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per room (fixed load)")
    parser.add_argument("--fixed-seconds", type=float, default=15)
    parser.add_argument("--sat-seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--http-seconds", type=float, default=10)
    parser.add_argument("--active-requests", type=int, help="TELEMED_ACTIVE_REQUESTS of the HTTP servers")
    parser.add_argument("--only", choices=("chat", "http"))
    args = parser.parse_args()
    logging.getLogger("socketio").setLevel(logging.CRITICAL)
    logging.getLogger("engineio").setLevel(logging.CRITICAL)

    from tests.support.pg import PostgresServer, find_bindir
    from tests.support.redis import RedisServer

    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found (scripts/setup.sh test installs them)")
    started = time.monotonic()
    pg = PostgresServer(bindir)
    pg.start()
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        sys.exit("redis-server not found (scripts/setup.sh test installs it)")
    redis = RedisServer(redis_binary).start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
            tmp = Path(tmp_name)
            chat = http = None
            if args.only in (None, "chat"):
                chat = run_chat(args, tmp / "chat", tmp, pg.create_database("scale_chat"), redis.url)
            if args.only in (None, "http"):
                http = run_http(args, tmp / "http", tmp, pg.create_database("scale_http"), redis.url)
            if chat:
                report_chat(args, chat)
            if http:
                report_http(args, http)
    finally:
        redis.stop()
        pg.stop()
    print(f"total time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
