"""telemed: telemedicine consultations for voluntary health-insurance members.

``create_app(config)`` builds the Flask app: configuration, database, login,
CSRF, i18n, rate limits, Socket.IO and the blueprints.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path

from flask import Flask, jsonify, request
from flask_login import current_user
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
    cfg = load_config(config)
    app = Flask(__name__, instance_path=str(cfg["INSTANCE_DIR"]), template_folder=asset_dir("templates"),
                static_folder=asset_dir("static"))
    app.config.update(cfg)
    app.extensions["telemed.db"] = Database(app.config["DATABASE_URL"])

    from telemed.auth.passwords import Passwords

    app.extensions["telemed.passwords"] = Passwords(app.config["PASSWORD_HASH"])
    _init_extensions(app)
    _register_blueprints(app)
    return app


def _init_extensions(app: Flask) -> None:
    from telemed import auth  # noqa: F401  (registers the login loaders)
    from telemed.auth import web as _auth_web  # noqa: F401
    from telemed.auth.web import bearer_token
    from telemed.error_handlers import register_error_handlers
    from telemed.extensions import babel, csrf, limiter, login_manager, socketio
    from telemed.i18n import register_template_helpers, select_locale, select_timezone
    from telemed.web import close_db_session

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    limiter.init_app(app)
    socketio.init_app(app, async_mode="threading", message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
                      cors_allowed_origins=_allowed_origins(app))
    app.teardown_appcontext(close_db_session)
    register_error_handlers(app)
    register_template_helpers(app)

    @app.before_request
    def _csrf_unless_bearer():
        """Cookie-authenticated writes need a CSRF token; bearer-token API calls do not."""
        if request.method in ("GET", "HEAD", "OPTIONS") or bearer_token():
            return
        if request.path.startswith("/api/") and not request.cookies.get(app.config.get("SESSION_COOKIE_NAME",
                                                                                        "session")):
            return  # no cookie, so no ambient credential to protect
        csrf.protect()

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user and getattr(current_user, "is_authenticated", False):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _allowed_origins(app: Flask):
    extra = [o.strip() for o in str(app.config["ALLOWED_ORIGINS"] or "").split(",") if o.strip()]
    return extra or None  # None: same origin only (Flask-SocketIO's default check)


def _register_blueprints(app: Flask) -> None:
    from telemed.api import api
    from telemed.auth.views import bp as auth_bp
    from telemed.scheduling.views import bp as scheduling_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(scheduling_bp)
    app.register_blueprint(api)

    @app.get("/healthz")
    def healthz():
        """200 ``{"status": "ok"}`` when the database answers, 503 otherwise."""
        from telemed.web import database

        try:
            with database().engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            log.warning("health check: database unreachable")
            return jsonify({"status": "unavailable", "database": "down"}), 503
        return jsonify({"status": "ok"})
