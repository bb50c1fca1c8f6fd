"""Server subprocesses for the benchmarks: started in their own process group, always killed.

Shared by ``bench_chat.py``, ``bench_upload.py`` and ``bench_signaling.py``; ``throwaway_postgres``
by the benchmarks that also run on PostgreSQL (``--postgres``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVE_CODE = "import sys; from telemed.cli import main; sys.exit(main())"  # `telemed ...`


@contextlib.contextmanager
def throwaway_postgres():
    """A PostgreSQL server of its own for one benchmark run (the tests' ``PostgresServer``), stopped
    afterwards; yields its ``create_database(name) -> url``. Exits when no server binaries exist."""
    sys.path.insert(0, str(REPO))
    from tests.support.pg import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries found (set TELEMED_PG_BINDIR)")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server.create_database
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def telemed_serve_argv(port: int) -> list[str]:
    """``telemed serve`` on 127.0.0.1:``port`` with this interpreter."""
    return [sys.executable, "-c", SERVE_CODE, "serve", "--host", "127.0.0.1", "--port", str(port)]


class ServerProcess:
    """A server subprocess in its own process group, logging to ``log_path``; ``stop`` always kills it.

    ``ready_url``: ``wait_ready()`` without a check waits for it to answer 200.
    """

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path, ready_url: str | None = None):
        self.name, self.log_path, self.ready_url = name, log_path, ready_url
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=str(REPO),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, check: Callable[[], bool] | None = None, timeout: float = 30) -> None:
        """Poll ``check`` (default: ``ready_url`` answers 200) until true; stop and raise if it never is."""
        if check is None:
            import requests

            def check() -> bool:
                return requests.get(self.ready_url, timeout=2).status_code == 200

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            with contextlib.suppress(Exception):  # not up yet
                if check():
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; log:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The process and its descendants (``telemed serve`` is gunicorn's master and its worker)."""
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:  # gone meanwhile
                pass
        return found

    def status_kb(self, field: str) -> int:
        """``VmHWM`` / ``VmRSS`` of the process and its descendants together, in KiB."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the process and its live descendants."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
