"""A real coturn (``turnserver``) on 127.0.0.1 for relay tests, started with a temporary config.

The config uses ``use-auth-secret`` + ``static-auth-secret`` (the TURN REST scheme the app signs
credentials with), UDP only, and allows loopback peers (both relay addresses are on 127.0.0.1).
:func:`start_coturn` skips the test when ``turnserver`` is not installed, unless
``TELEMED_REQUIRE_TURN=1`` (then it fails).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aioice import stun

REALM = "telemed.test"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coturn:
    """``turnserver`` on 127.0.0.1 (UDP), in its own process group, logging to ``workdir/turn.log``.

    It can be killed (an outage: every allocation is gone) and started again on the same port
    with the same secret, so credentials handed out before the outage stay valid.
    """

    def __init__(self, binary: str, workdir: Path, secret: str) -> None:
        self.binary, self.workdir, self.secret = binary, workdir, secret
        self.port = free_udp_port()
        self.log_path = workdir / "turn.log"
        self.conf_path = workdir / "turnserver.conf"
        self.proc: subprocess.Popen | None = None
        self._out = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def config(self) -> str:
        return "\n".join(
            [
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                f"listening-port={self.port}",
                "use-auth-secret",
                f"static-auth-secret={self.secret}",
                f"realm={REALM}",
                "no-tls",
                "no-dtls",
                "no-tcp",
                "no-tcp-relay",
                "no-cli",
                "no-multicast-peers",
                "allow-loopback-peers",  # both relay addresses are 127.0.0.1; never in production
                "verbose",  # logs each ALLOCATE / CHANNEL_BIND and each refused credential
                f"log-file={self.log_path}",
                "simple-log",
                "no-stdout-log",
                f"pidfile={self.workdir / 'turnserver.pid'}",
                f"userdb={self.workdir / 'turndb'}",  # not /var/lib/turn
                "",
            ]
        )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Coturn:
        """Start it (again) and wait until it answers a STUN binding request."""
        self.conf_path.write_text(self.config())
        self._out = (self.workdir / "turnserver.out").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not self._answers_stun():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"coturn did not start; log:\n{self.log()[-3000:]}")
        return self

    def _answers_stun(self) -> bool:
        request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            s.sendto(bytes(request), ("127.0.0.1", self.port))
            try:
                data, _ = s.recvfrom(2048)
            except OSError:  # timeout, or ICMP port unreachable while it starts
                time.sleep(0.1)
                return False
        response = stun.parse_message(data)
        return (
            response.transaction_id == request.transaction_id
            and response.message_class == stun.Class.RESPONSE
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def allocated(self, username: str) -> bool:
        return f"user <{username}>: incoming packet ALLOCATE processed, success" in self.log()

    def allocations(self) -> int:
        """How many allocations succeeded so far (over every start)."""
        return self.log().count("incoming packet ALLOCATE processed, success")

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a crash or network loss would: every relay stops."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop it (SIGTERM, SIGKILL after 5 s)."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.running:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._out is not None:
            self._out.close()
            self._out = None


def start_coturn(workdir: Path) -> Coturn:
    """A started :class:`Coturn` with a random secret; skips (or fails) without ``turnserver``."""
    binary = shutil.which("turnserver")
    if binary is None:
        if os.environ.get("TELEMED_REQUIRE_TURN") == "1":
            pytest.fail("coturn is required (TELEMED_REQUIRE_TURN=1) but `turnserver` is not installed")
        pytest.skip("coturn (`turnserver`) not installed")
    return Coturn(binary, workdir, secrets.token_urlsafe(24)).start()
