"""``telemed check-config``: one line per check, exit status 1 on an error (``--strict``: on a
warning too), for a production-ready environment and for each way one can be wrong."""

from __future__ import annotations

import socket
import sqlite3

import pytest
from click.testing import CliRunner

from telemed.cli import main
from telemed.config import DEFAULTS
from telemed.ops.checks import CHECKS, ERROR, Result, run
from tests.support.s3 import use_fake_aws

GOOD_ENV = {
    "TELEMED_SECRET_KEY": "k" * 48,
    "TELEMED_SECURE_COOKIES": "on",
    "TELEMED_TURN_URLS": "turn:turn.example.org:3478",
    "TELEMED_TURN_SECRET": "coturn-static-auth-secret",
    "TELEMED_METRICS_TOKEN": "m" * 32,
    "TELEMED_AUDIT_KEY": "a" * 40 + ",retired-" + "b" * 32,
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No ``TELEMED_*`` setting but an instance folder of its own."""
    for key in DEFAULTS:
        monkeypatch.delenv(f"TELEMED_{key}", raising=False)
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path / "inst"))
    return monkeypatch


def check_config(*args: str):
    result = CliRunner().invoke(main, ["check-config", *args])
    lines = {line.split(":", 1)[0].split(None, 1)[1]: line for line in result.output.splitlines()[:-1]}
    return result, lines


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_production_ready_environment_passes_strict(env, db_url):
    for name, value in GOOD_ENV.items():
        env.setenv(name, value)
    env.setenv("TELEMED_DATABASE_URL", db_url)
    result, lines = check_config("--strict")
    if db_url.startswith("sqlite"):
        assert result.exit_code == 1, result.output
        assert lines["database engine"].startswith("warning ") and "SQLite" in lines["database engine"]
        assert result.output.splitlines()[-1] == "0 error(s), 1 warning(s)"
        assert check_config()[0].exit_code == 0  # a warning alone fails only --strict
    else:
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == "0 error(s), 0 warning(s)"
    for name in (
        "configuration",
        "database",
        "schema",
        "storage",
        "secret key",
        "audit key",
        "cookies",
        "turn",
    ):
        assert lines[name].startswith("ok "), result.output
    assert "current (revision" in lines["schema"] and "2 keys" in lines["audit key"]
    assert "k" * 48 not in result.output and "m" * 32 not in result.output and "a" * 40 not in result.output


def test_the_demo_defaults_warn_of_every_production_must_change(env, tmp_path):
    env.setenv("TELEMED_PASSWORD_HASH", "argon2-fast")
    result, lines = check_config()
    assert result.exit_code == 0, result.output
    for name, said in (
        ("secret key", "TELEMED_SECRET_KEY"),
        ("audit key", "TELEMED_AUDIT_KEY"),
        ("database engine", "SQLite"),
        ("cookies", "TELEMED_SECURE_COOKIES"),
        ("password hash", "argon2-fast"),
        ("turn", "TELEMED_TURN_URLS"),
        ("schema", "telemed init-db"),  # a new, empty database
    ):
        assert lines[name].startswith("warning ") and said in lines[name], lines[name]
    assert result.output.splitlines()[-1] == "0 error(s), 7 warning(s)"
    strict, _ = check_config("--strict")
    assert strict.exit_code == 1 and strict.output.splitlines()[-1] == "0 error(s), 7 warning(s)"


def test_a_bad_setting_is_an_error_that_names_the_variable(env):
    env.setenv("TELEMED_URGENT_ESCALATE_SECONDS", "soon")
    result, lines = check_config()
    assert result.exit_code == 1
    assert lines["configuration"] == (
        "error   configuration: TELEMED_URGENT_ESCALATE_SECONDS must be a whole number, not 'soon'"
    )
    env.setenv("TELEMED_URGENT_ESCALATE_SECONDS", "600")
    env.setenv("TELEMED_STORAGE_URL", "ftp://files.example.org/docs")
    result, lines = check_config()
    assert result.exit_code == 1 and "storage URL must be" in lines["configuration"]


def test_an_unreachable_database_is_an_error(env):
    port = closed_port()
    env.setenv("TELEMED_DATABASE_URL", f"postgresql+psycopg://telemed:pw-not-shown@127.0.0.1:{port}/telemed")
    result, lines = check_config()
    assert result.exit_code == 1
    assert lines["database"].startswith(
        f"error   database: cannot connect to postgresql+psycopg://telemed:***@127.0.0.1:{port}/telemed"
    )
    assert "pw-not-shown" not in result.output and "schema" not in lines
    assert lines["storage"].startswith("ok ")  # the other checks still run


def test_a_schema_newer_than_the_code_is_an_error(env, tmp_path):
    path = tmp_path / "newer.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    env.setenv("TELEMED_DATABASE_URL", f"sqlite:///{path}")
    result, lines = check_config()
    assert result.exit_code == 1
    assert lines["schema"] == "error   schema: revision 9999_from_the_future is unknown to this code (newer?)"


def test_s3_storage_reachable_or_not(env, moto_endpoint):
    use_fake_aws(env)
    env.setenv("TELEMED_STORAGE_URL", "s3://check-config-bucket/docs")
    env.setenv("TELEMED_S3_ENDPOINT_URL", moto_endpoint)
    result, lines = check_config()
    assert lines["storage"].startswith("error ") and "init-db" in lines["storage"]  # no bucket yet
    assert CliRunner().invoke(main, ["init-db"]).exit_code == 0  # creates the bucket
    result, lines = check_config()
    assert result.exit_code == 0, result.output
    assert lines["storage"] == "ok      storage: s3://check-config-bucket/docs is usable"


def test_a_check_that_breaks_is_an_error_and_the_rest_still_run(app):
    def redis(_app):
        raise ConnectionError("Redis is down")

    def fine(_app):
        return [Result("ok", "fine", "yes")]

    results = run(app, [redis, fine])
    assert results == [Result(ERROR, "redis", "ConnectionError: Redis is down"), Result("ok", "fine", "yes")]
    assert fine not in CHECKS and len(CHECKS) >= 8


def test_redis_answers_or_the_configuration_is_refused(env, redis_url):
    result, lines = check_config()
    assert lines["redis"] == "ok      redis: not configured (one serving process only)"
    env.setenv("TELEMED_REDIS_URL", redis_url)
    result, lines = check_config()
    assert lines["redis"] == f"ok      redis: {redis_url} answers", result.output
    port = closed_port()
    env.setenv("TELEMED_REDIS_URL", f"redis://:pw-not-shown@127.0.0.1:{port}/0")
    result, lines = check_config()
    assert result.exit_code == 1 and "pw-not-shown" not in result.output
    assert lines["configuration"].startswith(
        f"error   configuration: Redis at redis://:***@127.0.0.1:{port}/0"
    )
