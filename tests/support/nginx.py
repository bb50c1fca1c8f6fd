"""Debian's nginx in front of test servers, running the shipped site (``deploy/nginx/telemed.conf``).

The site is used as shipped except for what a test machine must change: its upstream servers (the
test's ``telemed serve`` ports), its listening addresses (free loopback ports instead of 80/443)
and its certificate (a throwaway self-signed one). A minimal main configuration wraps it with every
path inside a temporary directory, so nginx runs without touching ``/etc`` or ``/var``.
:func:`nginx_binary` skips the test when nginx is not installed, unless
``TELEMED_REQUIRE_NGINX=1`` (then it fails).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.pg import free_port

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "telemed.conf"

MAIN = """\
user {user};
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        if os.environ.get("TELEMED_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (TELEMED_REQUIRE_NGINX=1) but not installed")
        pytest.skip("nginx is not installed")
    return found


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def site_for_test(
    site: str, upstreams: list[int], http_port: int, https_port: int, cert: Path, key: Path
) -> str:
    """The shipped site with the test's upstream ports, loopback listeners, host name (the loopback
    address) and certificate."""
    server_lines = re.compile(r"(?:[ \t]*server 127\.0\.0\.1:\d+[^\n]*\n)+")
    assert server_lines.search(site), "the shipped site has no upstream server lines"

    def test_servers(run: re.Match) -> str:  # each upstream's run of server lines: one per test server
        template = run.group(0).splitlines(keepends=True)[0]
        return "".join(re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", template) for port in upstreams)

    site = server_lines.sub(test_servers, site)
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)  # IPv4 loopback only
    site = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http_port}", site)
    site = re.sub(r"listen 443\b", f"listen 127.0.0.1:{https_port}", site)
    site = re.sub(r"server_name telemed\.example\.org;", "server_name 127.0.0.1 localhost;", site)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    return site


class Nginx:
    """nginx with the shipped site in front of ``upstreams`` (ports on 127.0.0.1)."""

    def __init__(self, workdir: Path, upstreams: list[int]) -> None:
        self.binary = nginx_binary()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.http_port, self.https_port = free_port(), free_port()
        cert, key = self_signed(self.dir)
        (self.dir / "site.conf").write_text(
            site_for_test(SITE.read_text(), upstreams, self.http_port, self.https_port, cert, key)
        )
        (self.dir / "nginx.conf").write_text(MAIN.format(user=getpass.getuser(), dir=self.dir))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def _argv(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p",
            str(self.dir),
            "-c",
            str(self.dir / "nginx.conf"),
            "-e",
            str(self.dir / "error.log"),
            *extra,
        ]

    def check(self) -> subprocess.CompletedProcess:
        """``nginx -t`` on the configuration."""
        return subprocess.run(self._argv("-t"), capture_output=True, text=True)

    def start(self, timeout: float = 15) -> Nginx:
        self.proc = subprocess.Popen(
            self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.https_port), 0.5):
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not start:\n{self.error_log()}")
            time.sleep(0.1)

    def error_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "error.log").read_text(errors="replace")[-3000:]
        return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGQUIT)  # graceful: finish what is in flight
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
