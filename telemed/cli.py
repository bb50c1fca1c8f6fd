"""The ``telemed`` command: init-db, seed-demo, create-user, deactivate-user, serve, demo, worker,
audit-verify, check-config."""

from __future__ import annotations

import click

from telemed import create_app
from telemed.auth.roles import Role


def _app(overrides: dict | None = None):
    from telemed.config import ConfigError

    try:
        return create_app(overrides)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def init_database(app) -> None:
    """Migrate the schema to head and sync reference data (idempotent)."""
    from telemed.catalog.specialties import sync_specialties
    from telemed.migrate import upgrade

    db = app.extensions["telemed.db"]
    upgrade(db.engine)
    storage = app.extensions["telemed.storage"]
    if hasattr(storage, "ensure_bucket"):
        storage.ensure_bucket()
    with db.transaction() as s:
        sync_specialties(s)


@click.group()
def main() -> None:
    """telemed: telemedicine consultations. Configure with TELEMED_* variables (see README)."""


@main.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the database schema (Alembic, to head)."""
    app = _app()
    init_database(app)
    click.echo(
        f"database ready: {app.extensions['telemed.db'].engine.url.render_as_string(hide_password=True)}"
    )


@main.command("seed-demo")
@click.option("--days", default=14, show_default=True, help="Days of slots to create from today.")
def seed_demo_command(days: int) -> None:
    """Load the fictional demo data (idempotent). All demo passwords are `demo`."""
    from telemed.seed import seed_demo

    app = _app()
    init_database(app)
    summary = seed_demo(app, days=days)
    click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in summary.items()))


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "full_name", required=True, help="Full name shown to others.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(username: str, role: str, full_name: str, password: str) -> None:
    """Create a user account. The password must meet the password policy (at least 12 characters,
    not common, not built from the username or name)."""
    from telemed import errors
    from telemed.auth import password_policy
    from telemed.auth.service import create_user

    app = _app()
    try:
        password_policy.check(password, password_policy.personal_words(username, full_name))
    except errors.WeakPassword as exc:
        hints = [exc.details.get("warning"), *exc.details.get("suggestions", [])]
        raise click.ClickException(" ".join([exc.message, *(h for h in hints if h)])) from exc
    try:
        with app.extensions["telemed.db"].transaction() as s:
            user = create_user(
                s,
                app.extensions["telemed.passwords"],
                username=username,
                password=password,
                role=role,
                full_name=full_name,
            )
            user_id = user.id
    except errors.DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created user {username} (id {user_id}, role {role})")
    if role != Role.MEMBER:
        click.echo("staff set up their authenticator app at their first login")


@main.command("deactivate-user")
@click.argument("username")
def deactivate_user_command(username: str) -> None:
    """Deactivate an account: it can no longer log in; its sessions, tokens and sockets end."""
    from telemed.account.service import deactivate
    from telemed.auth.logins import user_by_username
    from telemed.db import utcnow

    app = _app()
    db = app.extensions["telemed.db"]
    try:
        with db.session() as s:
            user = user_by_username(s, username)
            user_id = user.id if user else None
        if user_id is None:
            raise click.ClickException(f"no user {username!r}")
        deactivate(db, app.extensions["telemed.audit_keys"], None, user_id, client_addr=None, now=utcnow())
    finally:
        db.dispose()
    click.echo(f"deactivated user {username} (id {user_id}); their sessions and tokens ended")


def _serve_werkzeug(app, host: str, port: int) -> None:
    """Serve with Werkzeug's threaded server (``telemed demo`` only: a development server). The
    relay sends the outbox (what the worker and other processes wrote) to this process's Socket.IO
    clients and refreshes its doctors' connections."""
    from werkzeug.serving import WSGIRequestHandler

    from telemed.extensions import socketio

    class Handler(WSGIRequestHandler):
        def version_string(self) -> str:
            return "telemed"  # the Server header, without Werkzeug's and Python's versions

    app.extensions["telemed.relay"].start()
    click.echo(f"telemed on http://{host}:{port}")
    socketio.run(
        app,
        host=host,
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
        request_handler=Handler,
    )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--threads",
    default=1000,
    show_default=True,
    type=click.IntRange(min=2),
    help="Threads of the one worker process; each open Socket.IO connection holds one.",
)
@click.option(
    "--graceful-timeout",
    default=30,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds in-flight requests may take to finish after SIGTERM.",
)
def serve_command(host: str, port: int, threads: int, graceful_timeout: int) -> None:
    """Serve the app (HTTP and Socket.IO) with gunicorn: one gthread worker process, many threads."""
    from telemed.config import ConfigError, load_config
    from telemed.redisconn import require_reachable
    from telemed.serving import serve

    try:  # the checks create_app makes; the app itself is created in the worker, after the fork
        require_reachable(load_config())
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc
    click.echo(f"telemed on http://{host}:{port}")
    serve(create_app, host, port, threads=threads, graceful_timeout=graceful_timeout)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_command(host: str, port: int) -> None:
    """init-db + seed-demo + serve, on the embedded defaults (SQLite, local storage); the worker's
    jobs (urgent escalation) run in this process too."""
    from telemed.auth.otp import DEMO_SECRET
    from telemed.seed import seed_demo
    from telemed.worker import start_in_thread

    app = _app({"DEMO_OTP_HINT": True})  # the login page shows the demo staff's current code: here only
    init_database(app)
    seed_demo(app)
    click.echo(
        "demo accounts (password `demo`): member, member2, doctor, doctor2, pediatrician, psychologist, "
        f"records, admin, curator; staff authenticator secret {DEMO_SECRET} (the login page shows its current code)"
    )
    start_in_thread(app)
    _serve_werkzeug(app, host, port)


@main.command("worker")
@click.option("--once", is_flag=True, help="Run the due jobs once and exit.")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between runs.",
)
def worker_command(once: bool, interval: float) -> None:
    """Run the timed jobs (urgent escalation, stale duty, outbox pruning) until stopped; several
    copies may run at once."""
    import signal

    from telemed.worker import Worker, run_due

    app = _app()
    if once:
        done = run_due(app)
        click.echo("worker: " + ", ".join(f"{k}={v}" for k, v in done.items()))
        return
    worker = Worker(app, interval=interval)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop(timeout=0))
    click.echo(f"telemed worker: running the due jobs every {interval} s")
    try:
        worker.run()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["telemed.db"].dispose()


@main.command("audit-verify")
def audit_verify_command() -> None:
    """Verify the e-card audit log's keyed chain and its signed checkpoints; exit status 1 when
    anything is broken, missing or forged."""
    from datetime import timedelta

    from telemed.db import utcnow
    from telemed.records import audit_anchor

    app = _app()
    db = app.extensions["telemed.db"]
    try:
        with db.session() as s:
            result = audit_anchor.verify(
                s,
                app.extensions["telemed.storage"],
                app.extensions["telemed.audit_keys"],
                now=utcnow(),
                interval=timedelta(seconds=int(app.config["AUDIT_CHECKPOINT_SECONDS"])),
            )
    finally:
        db.dispose()
    if not result.ok:
        click.echo(f"audit log BROKEN: {result.reason}", err=True)
        raise SystemExit(1)
    click.echo(f"audit chain OK: {result.chain.checked} events, {result.checkpoints} checkpoints")
    for key in result.public_keys:
        click.echo(f"checkpoints signed by Ed25519 public key {key}")


@main.command("check-config")
@click.option("--strict", is_flag=True, help="Count warnings as errors.")
def check_config_command(strict: bool) -> None:
    """Check the environment before a deploy, starting nothing: settings, database and schema,
    storage, and what must change for production. One line per check (ok, warning, error); exit
    status 1 on an error (with --strict, on a warning too)."""
    from telemed.config import ConfigError
    from telemed.ops.checks import ERROR, OK, WARNING, Result, run

    try:
        app = create_app()
    except ConfigError as exc:
        results = [Result(ERROR, "configuration", str(exc))]
    except Exception as exc:  # e.g. an unusable storage URL or instance folder
        results = [Result(ERROR, "configuration", f"{type(exc).__name__}: {exc}")]
    else:
        results = [Result(OK, "configuration", "the TELEMED_* settings are valid"), *run(app)]
        app.extensions["telemed.db"].dispose()
    for result in results:
        click.echo(result.line())
    errors = sum(r.level == ERROR for r in results)
    warnings = sum(r.level == WARNING for r in results)
    click.echo(f"{errors} error(s), {warnings} warning(s)")
    if errors or (strict and warnings):
        raise SystemExit(1)
