"""The rate limit of password changes: the login limit (``TELEMED_LOGIN_RATE_LIMIT``), per user, so
that a stolen session cannot try current passwords at speed."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from telemed.extensions import limiter


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _user_key() -> str:
    user_id = current_user.user_id if current_user.is_authenticated else None
    return f"password-change:{user_id}"


def password_change_limited(view):
    """Decorate a password-change view (page or API): every attempt counts, per user."""
    return limiter.limit(_limit, key_func=_user_key, methods=["POST"])(view)
