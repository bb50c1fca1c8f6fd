"""Rate limits for login attempts: per client address and per username."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter.util import get_remote_address

from telemed.extensions import limiter


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _username_key() -> str:
    try:
        data = (request.get_json(silent=True) if request.is_json else request.form) or {}
    except RecursionError:  # hostile nesting: the view answers 400; count it under no username
        data = {}
    name = data.get("username") if hasattr(data, "get") else None
    return f"login-user:{str(name or '')[:64].lower()}"


def login_limited(view):
    """Decorate a login view with both limits (only failed or not, every attempt counts)."""
    view = limiter.limit(_limit, key_func=_username_key, methods=["POST"])(view)
    return limiter.limit(_limit, key_func=get_remote_address, methods=["POST"])(view)
