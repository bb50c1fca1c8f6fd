"""Shared fixtures: a migrated database per backend (SQLite and PostgreSQL), the app, factories.

Each test that takes ``app`` runs once on SQLite and once on a real PostgreSQL
server started for the test run. Tables are emptied before every test.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from telemed import create_app
from telemed.cli import init_database
from telemed.db import Base
from tests.support import audit_guard
from tests.support.browser import browser, playwright  # noqa: F401  (session fixtures)
from tests.support.factories import Factory
from tests.support.pg import PostgresServer, find_bindir
from tests.support.redis import start_redis
from tests.support.s3 import moto_endpoint  # noqa: F401  (session fixture)

BACKENDS = ["sqlite", "postgresql"]
TEST_CONFIG = {
    "SECRET_KEY": "test-secret",
    "PASSWORD_HASH": "argon2-fast",
    "LOGIN_RATE_LIMIT": "1000 per minute",
    "TESTING": True,
}


@pytest.fixture(scope="session")
def oidc_issuer():
    """A real OpenID Connect provider for the session (``tests/support/oidc.py``): its issuer URL."""
    from tests.support.oidc import provider

    with provider() as issuer:
        yield issuer


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("TELEMED_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL server binaries are required (TELEMED_REQUIRE_PG=1) but not installed")
        pytest.skip("PostgreSQL server binaries not installed")
    server = PostgresServer(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway ``redis-server`` for the test run, stopped at its end."""
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The test run's Redis, emptied first (no rate-limit counter of an earlier test is left)."""
    with redis_server.client() as conn:
        conn.flushall()
    return redis_server.url


def _migrated(url: str, instance) -> str:
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "INSTANCE_DIR": str(instance)})
    init_database(app)
    app.extensions["telemed.db"].dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("sqlite")
    return _migrated(f"sqlite:///{base / 'test.sqlite3'}", base / "instance")


@pytest.fixture(scope="session")
def postgresql_url(pg_server, tmp_path_factory) -> str:
    return _migrated(pg_server.create_database("telemed_test"), tmp_path_factory.mktemp("pg-instance"))


@pytest.fixture(params=BACKENDS)
def db_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def empty_tables(app) -> None:
    from telemed.catalog.specialties import sync_specialties
    from tests.support import otp

    otp.forget()

    db = app.extensions["telemed.db"]
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.transaction() as s:
        audit_guard.lift(s)
        if db.is_sqlite:
            for name in tables:
                s.execute(text(f'DELETE FROM "{name}"'))
        else:
            s.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE"))
        audit_guard.restore(s)
    with db.transaction() as s:
        sync_specialties(s)


def make_app(db_url: str, tmp_path, **overrides):
    return create_app(
        {**TEST_CONFIG, "DATABASE_URL": db_url, "INSTANCE_DIR": str(tmp_path / "instance"), **overrides}
    )


@pytest.fixture
def app(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    empty_tables(app)
    yield app
    app.extensions["telemed.db"].dispose()


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


@pytest.fixture
def db(app):
    return app.extensions["telemed.db"]
