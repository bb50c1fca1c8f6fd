"""Rate limits for login attempts: per client address and per username; OpenID Connect logins per
address."""

from __future__ import annotations

from flask import current_app, request, session
from flask_limiter.util import get_remote_address

from telemed.auth.login_flow import PENDING_KEY
from telemed.auth.service import login_name
from telemed.extensions import limiter


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _username_key() -> str:
    try:
        data = (request.get_json(silent=True) if request.is_json else request.form) or {}
    except RecursionError:  # hostile nesting: the view answers 400; count it under no username
        data = {}
    name = data.get("username") if hasattr(data, "get") else None
    # the name as login looks it up (and case-folded): " member2 " and "Member2" count as member2
    return f"login-user:{login_name(str(name or ''))[:64].casefold()}"


def _pending_username_key() -> str:
    """The username of the login waiting for its second step (``PENDING_KEY``), counted
    as ``_username_key`` counts it."""
    data = session.get(PENDING_KEY)
    name = data.get("name") if isinstance(data, dict) else None
    return f"login-user:{login_name(str(name or ''))[:64].casefold()}"


def login_limited(view):
    """Decorate a login view with both limits (failed or not, every attempt counts). Every login
    view shares the counters: attempts on the page and on the API add up."""
    view = limiter.shared_limit(_limit, scope="login-user", key_func=_username_key, methods=["POST"])(view)
    return limiter.shared_limit(_limit, scope="login-address", key_func=get_remote_address, methods=["POST"])(
        view
    )


def second_step_limited(view):
    """Decorate a second-step view (the code after the password) with the login limits: its
    attempts add up with the password attempts of the same username and address."""
    view = limiter.shared_limit(_limit, scope="login-user", key_func=_pending_username_key, methods=["POST"])(
        view
    )
    return limiter.shared_limit(_limit, scope="login-address", key_func=get_remote_address, methods=["POST"])(
        view
    )


def oidc_limited(view):
    """Decorate an OpenID Connect view (the login's start and its callback) with the login limit
    per client address, counted apart from password attempts (scope ``oidc-address``): a callback
    flood with forged codes or states is cut before it reaches the provider or the audit log."""
    return limiter.shared_limit(_limit, scope="oidc-address", key_func=get_remote_address, methods=["GET"])(
        view
    )
