"""The ``telemed`` command and packaging."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from telemed import create_app
from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import CODES
from telemed.cli import main
from telemed.scheduling.models import Slot
from tests.support import otp

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("TELEMED_PASSWORD_HASH", "argon2-fast")
    monkeypatch.delenv("TELEMED_DATABASE_URL", raising=False)
    return tmp_path


def test_seed_demo_is_idempotent_and_complete(env):
    runner = CliRunner()
    first = runner.invoke(main, ["seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["seed-demo"])
    assert second.exit_code == 0 and "slots_added=0" in second.output
    app = create_app()
    assert (env / "inst" / "telemed.sqlite3").exists() and (env / "inst" / "secret_key").exists()
    with app.extensions["telemed.db"].session() as s:
        per_specialty = dict(
            s.execute(
                select(Doctor.specialty_code, func.count(func.distinct(Doctor.career_start))).group_by(
                    Doctor.specialty_code
                )
            ).all()
        )
        assert set(per_specialty) == set(CODES) and min(per_specialty.values()) >= 2
        night = s.scalars(select(Slot).join(Doctor).where(Doctor.specialty_code == "therapist")).all()
        assert {sl.starts_at.hour for sl in night} == set(range(24))  # around the clock
        assert s.scalar(select(User.email).where(User.username == "member")) == "member@example.org"
    client = app.test_client()
    for username in (
        "member",
        "member2",
        "doctor",
        "doctor2",
        "pediatrician",
        "psychologist",
        "records",
        "admin",
        "curator",
    ):
        # staff pass a code of the published demo secret (members ignore it): one try each, within the limit
        code = otp.next_code(username, otp.DEMO_SECRET)
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo", "otp": code})
        assert r.status_code == 200, username
    token = client.post("/api/v1/auth/token", json={"username": "member", "password": "demo"}).json["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me["consent"]["accepted"] and len(me["patients"]) == 2
    assert [p["is_adult"] for p in me["patients"]] == [True, False]
    app.extensions["telemed.db"].dispose()


def test_create_user(env):
    runner = CliRunner()
    assert runner.invoke(main, ["init-db"]).exit_code == 0
    r = runner.invoke(
        main,
        [
            "create-user",
            "--username",
            "nurse",
            "--role",
            "records",
            "--name",
            "N. Nurse",
            "--password",
            STRONG,
        ],
    )
    assert r.exit_code == 0, r.output
    dup = runner.invoke(
        main, ["create-user", "--username", "nurse", "--role", "records", "--name", "N", "--password", STRONG]
    )
    assert dup.exit_code != 0 and "already exists" in dup.output
    assert "authenticator app at their first login" in r.output
    client = create_app().test_client()
    r = client.post("/api/v1/auth/token", json={"username": "nurse", "password": STRONG, "otp": "123456"})
    assert r.status_code == 401 and r.json["error"]["code"] == "otp_required"  # not enrolled yet
    assert "on the web first" in r.json["error"]["message"]


STRONG = "violet-harbour-quantum-7"


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("pw-123", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("nina-nurse-2024", "too easy to guess"),  # the username and name
    ],
)
def test_create_user_refuses_a_weak_password(env, password, says):
    runner = CliRunner()
    assert runner.invoke(main, ["init-db"]).exit_code == 0
    args = ["create-user", "--username", "nina", "--role", "doctor", "--name", "Nina Nurse"]
    r = runner.invoke(main, [*args, "--password", password])
    assert r.exit_code == 1 and says in r.output, r.output
    client = create_app().test_client()
    assert (
        client.post("/api/v1/auth/token", json={"username": "nina", "password": password}).status_code == 401
    )


def test_deactivate_user(env):
    runner = CliRunner()
    args = ["--role", "member", "--name", "Olga", "--password", STRONG]
    assert runner.invoke(main, ["init-db"]).exit_code == 0
    assert runner.invoke(main, ["create-user", "--username", "olga", *args]).exit_code == 0
    app = create_app()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "olga", "password": STRONG}).json["token"]
    r = runner.invoke(main, ["deactivate-user", "olga"])
    assert r.exit_code == 0 and "deactivated user olga" in r.output, r.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "olga", "password": STRONG}).status_code == 401
    with app.extensions["telemed.db"].session() as s:
        from telemed.records.audit_models import AuditEvent

        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "account")).all()
        assert [(r.actor_role, r.action, r.outcome) for r in rows] == [("system", "deactivate", "done")]
    app.extensions["telemed.db"].dispose()
    unknown = runner.invoke(main, ["deactivate-user", "nobody"])
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output


def test_the_worker_runs_the_due_escalations_once(env):
    from datetime import UTC, datetime, timedelta

    from tests.support import urgent as u

    runner = CliRunner()
    assert runner.invoke(main, ["seed-demo", "--days", "1"]).exit_code == 0
    app = create_app()
    try:
        cid = u.ask(app, u.user_of(app, "member"), now=datetime.now(UTC) - timedelta(hours=1))
    finally:
        app.extensions["telemed.db"].dispose()
    first = runner.invoke(main, ["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "escalation_steps=2" in first.output  # an hour late: both levels, in order
    assert "escalation_steps=0" in runner.invoke(main, ["worker", "--once", "--interval", "0.5"]).output
    app = create_app()
    with app.extensions["telemed.db"].session() as s:
        from telemed.urgent.models import UrgentRequest

        assert s.get(UrgentRequest, cid).escalation_level == 2
    app.extensions["telemed.db"].dispose()


def _pip_wheel(source: Path, out: Path) -> subprocess.CompletedProcess:
    """``pip wheel`` with the setuptools of this environment (as scripts/setup.sh installs it)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_wheel_ships_templates_static_migrations_and_translations(tmp_path):
    result = _pip_wheel(ROOT, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    wheel = next(tmp_path.glob("telemed-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "telemed/templates/base.html",
        "telemed/templates/scheduling/consultation.html",
        "telemed/static/css/app.css",
        "telemed/static/vendor/socket.io.min.js",
        "telemed/migrations/env.py",
        "telemed/migrations/versions/0001_initial_schema.py",
        "telemed/translations/ru/LC_MESSAGES/messages.mo",
        "telemed/records/data/icd10_ru.tsv",
    ):
        assert required in names, required
    assert not [name for name in names if "__pycache__" in name]
    # pyproject.toml lists telemed's packages by name: a new subpackage must be listed there (setuptools
    # still copies an unlisted one as data, with a warning, but says it will stop doing so)
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "telemed").rglob("*.py")}
    assert modules - names == set()
    for init in (ROOT / "telemed").rglob("__init__.py"):
        package = ".".join(init.parent.relative_to(ROOT).parts)
        assert f"Package '{package}' is absent from the `packages` configuration" not in result.stderr


@pytest.mark.slow
def test_wheel_build_without_the_front_end_assets_stops_and_says_how_to_get_them(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("telemed", "templates", "migrations"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "static", source / "static", ignore=shutil.ignore_patterns("vendor"))
    assert not (source / "static" / "vendor").exists()

    result = _pip_wheel(source, tmp_path / "dist")
    assert result.returncode != 0
    assert not list(tmp_path.glob("dist/*.whl"))
    output = result.stdout + result.stderr
    assert "error: missing static/vendor/socket.io.min.js" in output, output
    assert "Run scripts/setup.sh" in output, output


def test_only_the_demo_command_shows_the_demo_code_beside_the_login_form(env, monkeypatch):
    """``telemed demo`` sets the flag (the login page shows the demo staff's current code)."""
    import telemed.cli
    import telemed.worker

    served = {}
    monkeypatch.setattr(telemed.cli, "_serve_werkzeug", lambda app, host, port: served.setdefault("app", app))
    monkeypatch.setattr(telemed.worker, "start_in_thread", lambda app: None)
    r = CliRunner().invoke(main, ["demo"])
    assert r.exit_code == 0, r.output
    assert "JBSWY3DPEHPK3PXP" in r.output
    app = served["app"]
    page = app.test_client().get("/login").text
    assert "JBSWY3DPEHPK3PXP" in page and re.search(r'class="code">\d{6}<', page)
    app.extensions["telemed.db"].dispose()
    plain = create_app()
    assert "JBSWY3DPEHPK3PXP" not in plain.test_client().get("/login").text
    plain.extensions["telemed.db"].dispose()
