"""A throwaway Redis (Debian ``redis-server``) on a free 127.0.0.1 port, in a temporary directory.

Nothing is persisted (no RDB snapshots, no AOF). :func:`start_redis` skips the test when
``redis-server`` is not installed, unless ``TELEMED_REQUIRE_REDIS=1`` (then it fails).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from tests.support.pg import free_port


class RedisServer:
    """``redis-server`` in its own process group; ``stop`` always ends it and removes its directory.

    ``unix=True``: it listens on a Unix socket in its directory only (no TCP port).
    """

    def __init__(self, binary: str, *, unix: bool = False) -> None:
        self.binary, self.unix = binary, unix
        self.port = 0 if unix else free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="telemed-redis-"))
        self.socket_path = self.dir / "redis.sock"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0" if self.unix else f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15) -> RedisServer:
        """Start it and wait until it answers PING."""
        argv = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        argv += ["--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"), "--daemonize", "no"]
        if self.unix:
            argv += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"redis-server did not start; log:\n{log[-3000:]}")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        family, address = (
            (socket.AF_UNIX, str(self.socket_path))
            if self.unix
            else (socket.AF_INET, ("127.0.0.1", self.port))
        )
        with socket.socket(family) as s:
            s.settimeout(0.5)
            try:
                s.connect(address)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def log(self) -> str:
        try:
            return (self.dir / "redis.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop it (SIGTERM, SIGKILL after 5 s) and remove its directory."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_redis(*, unix: bool = False) -> RedisServer:
    """A started :class:`RedisServer`; skips (or fails) without ``redis-server``."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("TELEMED_REQUIRE_REDIS") == "1":
            pytest.fail("Redis is required (TELEMED_REQUIRE_REDIS=1) but `redis-server` is not installed")
        pytest.skip("Redis (`redis-server`) not installed")
    return RedisServer(binary, unix=unix).start()
