"""telemed: telemedicine consultations for voluntary health-insurance members.

``create_app(config)`` builds the Flask app: configuration, database, login,
CSRF, i18n, rate limits, Socket.IO and the blueprints.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path

from flask import Flask, jsonify, request
from sqlalchemy import text

from telemed.config import load_config
from telemed.db import Database

log = logging.getLogger(__name__)


def asset_dir(name: str) -> str:
    """Folder of a top-level asset package (``templates``, ``static``, ``migrations``)."""
    spec = find_spec(f"telemed.{name}")
    if spec is not None and spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return str(Path(__file__).resolve().parent.parent / name)  # running from a source checkout


def create_app(config: dict | None = None) -> Flask:
    """The app for ``config`` (over the ``TELEMED_*`` environment); raises ``ConfigError`` for an
    unusable setting, a configured Redis that does not answer among them."""
    cfg = load_config(config)
    from telemed.redisconn import require_reachable

    require_reachable(cfg)
    app = Flask(
        __name__,
        instance_path=str(cfg["INSTANCE_DIR"]),
        template_folder=asset_dir("templates"),
        static_folder=asset_dir("static"),
    )
    app.config.update(cfg)
    from telemed.jsonio import FastJSONProvider

    app.json = FastJSONProvider(app)
    app.extensions["telemed.db"] = Database(app.config["DATABASE_URL"])

    from telemed.notifications import mailer
    from telemed.notifications import service as notifications

    default_reader = notifications.Reader(str(cfg["DEFAULT_LOCALE"]), str(cfg["CLINIC_TIMEZONE"]))
    notifications.configure(default_reader)
    smtp_url = app.config["SMTP_URL"]
    app.extensions["telemed.smtp"] = mailer.SmtpSettings.from_url(smtp_url) if smtp_url else None
    app.extensions["telemed.mail"] = mailer.MailSettings(
        sender=str(cfg["MAIL_FROM"]), public_url=str(cfg["PUBLIC_URL"]), default=default_reader
    )
    from telemed.auth.passwords import Passwords

    app.extensions["telemed.passwords"] = Passwords(app.config["PASSWORD_HASH"])
    from telemed.records.audit_keys import AuditKeys

    app.extensions["telemed.audit_keys"] = AuditKeys.from_setting(
        app.config["AUDIT_KEY"], app.config["SECRET_KEY"]
    )
    from telemed.storage import storage_from_url

    app.extensions["telemed.storage"] = storage_from_url(
        app.config["STORAGE_URL"], endpoint_url=app.config["S3_ENDPOINT_URL"]
    )
    from telemed.auth import oidc

    oidc.init_app(app)  # OpenID Connect login, when TELEMED_OIDC_ISSUER is set
    from telemed.web import IdConverter

    app.url_map.converters["int"] = IdConverter
    _init_extensions(app)
    _register_blueprints(app)
    from telemed import admission, ops

    admission.init_app(app)  # plain reads take turns (the access log below times their wait too)
    ops.init_app(app)  # after Socket.IO: its transport requests are logged and timed too
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_HOPS`` reverse proxies, take the client's address, scheme and host from the
    last that many ``X-Forwarded-*`` entries, which those proxies wrote, and nothing a client sent
    (outermost middleware: the Socket.IO endpoint sees the same)."""
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _init_extensions(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError, validate_csrf
    from wtforms import ValidationError

    from telemed import (
        auth,  # noqa: F401  (registers the login loaders)
        headers,
        sockets,
    )
    from telemed.auth import web as _auth_web  # noqa: F401
    from telemed.auth.web import bearer_token
    from telemed.error_handlers import register_error_handlers
    from telemed.extensions import babel, csrf, limiter, login_manager, socketio
    from telemed.i18n import register_template_helpers, select_locale, select_timezone
    from telemed.socket_guard import guard_packets
    from telemed.sockets import TRANSPORT_MAX
    from telemed.web import close_db_session, limit_body_size

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    limiter.init_app(app)
    # Socket.IO handlers must be registered before the first init_app so that every app
    # (one per process in production, several in tests) gets them.
    from telemed.chat import events
    from telemed.redisconn import message_queue
    from telemed.video import events as video_events

    # async_handlers=False: a connection's events run in order on its own reader thread, so chat
    # messages and WebRTC signals are handled in the order the client sent them (and no thread is
    # started per event). The hot ``message`` event bypasses Flask's per-event request context.
    # The client manager is always passed (None: this process only), so an app never inherits the
    # message queue of one created before it in the same process (Flask-SocketIO keeps its options).
    socketio.init_app(
        app,
        async_mode="threading",
        client_manager=message_queue(app.config["SOCKETIO_MESSAGE_QUEUE"]),
        cors_allowed_origins=_allowed_origins(app),
        max_http_buffer_size=TRANSPORT_MAX,  # the app's own limit is lower: sockets.EVENT_MAX
        async_handlers=False,
    )
    guard_packets(socketio.server)
    from telemed.notify.relay import Relay, socketio_emit
    from telemed.urgent import events as urgent_events

    app.extensions["telemed.relay"] = Relay(app.extensions["telemed.db"], socketio_emit)
    sockets.init_app(app)
    video_events.init_app(app)
    urgent_events.init_app(app)
    app.extensions["telemed.chat_writer"] = events.make_message_writer(app)
    events.register_message_handler(app)
    app.teardown_appcontext(close_db_session)
    register_error_handlers(app)
    register_template_helpers(app)

    # first of all hooks (the rate limiter's reads the login body): bound the body before anyone reads it
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body_size)

    @app.before_request
    def _csrf():
        """CSRF as ``headers.csrf_applies`` rules. API calls carry the token in the ``X-CSRFToken``
        header only, so the body (maybe a large upload) is never parsed here."""
        session_cookie = bool(request.cookies.get(app.config.get("SESSION_COOKIE_NAME", "session")))
        if not headers.csrf_applies(bearer=bool(bearer_token()), session_cookie=session_cookie):
            return
        if not request.path.startswith("/api/"):
            csrf.protect()
            return
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except ValidationError as exc:
            raise CSRFError(exc.args[0]) from exc

    headers.init_app(app)


def _allowed_origins(app: Flask):
    extra = [o.strip() for o in str(app.config["ALLOWED_ORIGINS"] or "").split(",") if o.strip()]
    return extra or None  # None: same origin only (Flask-SocketIO's default check)


def _register_blueprints(app: Flask) -> None:
    from telemed.account.oidc_views import bp as oidc_bp
    from telemed.account.views import bp as account_bp
    from telemed.admin.contract_views import bp as admin_contracts_bp
    from telemed.admin.doctor_views import bp as admin_doctors_bp
    from telemed.admin.user_views import bp as admin_users_bp
    from telemed.api import api
    from telemed.auth.otp_pages import bp as otp_bp
    from telemed.auth.views import bp as auth_bp
    from telemed.feedback.views import bp as feedback_bp
    from telemed.notifications.views import bp as notifications_bp
    from telemed.opinions.views import bp as opinions_bp
    from telemed.records.referral_views import bp as referrals_bp
    from telemed.records.views import bp as records_bp
    from telemed.scheduling.views import bp as scheduling_bp
    from telemed.urgent.pages import bp as urgent_bp
    from telemed.video.pages import bp as room_bp
    from telemed.video.views import bp as video_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(otp_bp)
    app.register_blueprint(scheduling_bp)
    app.register_blueprint(video_bp)
    app.register_blueprint(room_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(urgent_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(opinions_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(admin_contracts_bp)
    app.register_blueprint(admin_doctors_bp)
    app.register_blueprint(admin_users_bp)
    app.register_blueprint(api)

    @app.get("/favicon.ico")
    def favicon():
        """The site icon where browsers look for it without a ``<link rel="icon">``: the static SVG."""
        from flask import redirect, url_for

        return redirect(url_for("static", filename="favicon.svg"), code=301)

    @app.get("/healthz")
    def healthz():
        """200 ``{"status": "ok"}`` when the database answers, 503 otherwise."""
        from telemed.web import database

        try:
            with database().engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: database unreachable")
            return jsonify({"status": "unavailable", "database": "down"}), 503
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        """200 ``{"status": "ok", "checks": {"database", "redis", "storage"}}`` when every dependency
        answers (``redis``: ``"not configured"`` in embedded mode), else 503 with ``"unavailable"``
        for the status and each failing check. Public, like ``/healthz``: it names no host."""
        from telemed import readiness

        states = readiness.checks(app)
        ok = readiness.ready(states)
        return jsonify({"status": "ok" if ok else "unavailable", "checks": states}), 200 if ok else 503
