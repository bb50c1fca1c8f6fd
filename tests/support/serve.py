"""``telemed`` commands as real subprocesses: serving processes for multi-process tests, one-off runs.

Each serving process runs in its own process group, logs to a file and is always stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.pg import free_port

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from telemed.cli import main; sys.exit(main())"  # `telemed ...` with this interpreter


def telemed_env(settings: dict[str, str]) -> dict[str, str]:
    """This environment without any ``TELEMED_*`` variable, plus ``settings`` (names without the prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env.update({f"TELEMED_{key}": value for key, value in settings.items()})
    return env


def run_telemed(
    args: list[str], settings: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run ``telemed ARGS`` to its end (``timeout`` seconds at most), capturing its output."""
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env=telemed_env(settings),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class ServeProcess:
    """``telemed serve`` on a free 127.0.0.1 port; ``start`` waits until ``/healthz`` answers 200."""

    def __init__(self, name: str, settings: dict[str, str], log_path: Path) -> None:
        self.name, self.settings, self.log_path = name, settings, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> ServeProcess:
        argv = [sys.executable, "-c", CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                env=telemed_env(self.settings),
                cwd=str(REPO),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; log:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        return self

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
