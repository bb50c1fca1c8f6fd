"""The production topology, started by the test run: PostgreSQL, Redis, S3 (moto's server), two
``telemed serve`` processes and one ``telemed worker``, with nginx in front running the shipped
site (``deploy/nginx/telemed.conf``). Short grace times let a killed process's ghosts expire
within a test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import boto3
import pytest

from tests.conftest import empty_tables, make_app
from tests.support.nginx import Nginx
from tests.support.s3 import FAKE_AWS_ENV
from tests.support.serve import CLI, REPO, ServeProcess, telemed_env

BUCKET = "telemed-topology"
GRACE_SECONDS = 3  # presence and duty of a dead process expire after this


@pytest.fixture(scope="module")
def settings(postgresql_url, redis_server, moto_endpoint, tmp_path_factory, monkeypatch_module):
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch_module.setenv(name, value)
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=BUCKET)
    base = tmp_path_factory.mktemp("topology")
    return {
        "DATABASE_URL": postgresql_url,
        "REDIS_URL": redis_server.url,
        "STORAGE_URL": f"s3://{BUCKET}/attachments",
        "S3_ENDPOINT_URL": moto_endpoint,
        "SECRET_KEY": "topology-secret",
        "PASSWORD_HASH": "argon2-fast",
        "PROXY_HOPS": "1",
        "SECURE_COOKIES": "on",
        "PRESENCE_TTL_SECONDS": str(GRACE_SECONDS),
        "DUTY_GRACE_SECONDS": str(GRACE_SECONDS),
        "INSTANCE_DIR": str(base / "instance"),
    }


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


class Topology:
    def __init__(self, settings: dict[str, str], workdir) -> None:
        self.settings, self.workdir = settings, workdir
        self.a = ServeProcess("A", settings, workdir / "A.log")
        self.b = ServeProcess("B", settings, workdir / "B.log")
        self.nginx = Nginx(workdir / "nginx", [self.a.port, self.b.port])
        self.worker: subprocess.Popen | None = None

    def start(self) -> Topology:
        self.a.start()
        self.b.start()
        with (self.workdir / "worker.log").open("wb") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-c", CLI, "worker", "--interval", "0.5"],
                env=telemed_env(self.settings),
                cwd=str(REPO),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.nginx.start()
        return self

    @property
    def servers(self) -> tuple[ServeProcess, ServeProcess]:
        return self.a, self.b

    def stop(self) -> None:
        self.nginx.stop()
        if self.worker is not None and self.worker.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.worker.pid, signal.SIGTERM)
            self.worker.wait(10)
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="module")
def topology(settings, tmp_path_factory):
    t = Topology(settings, tmp_path_factory.mktemp("processes"))
    try:
        yield t.start()
    finally:
        t.stop()


@pytest.fixture
def pg_app(postgresql_url, tmp_path, redis_url, topology):
    """An in-test app on the topology's database, emptied (``redis_url`` empties Redis too)."""
    app = make_app(postgresql_url, tmp_path)
    empty_tables(app)
    yield app
    app.extensions["telemed.db"].dispose()
