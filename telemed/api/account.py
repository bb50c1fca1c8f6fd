"""API: the user's own password and active logins; an admin deactivates an account."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from telemed.account import service
from telemed.account.limits import password_change_limited
from telemed.api import api
from telemed.api.contract import Body, Text, documented
from telemed.api.openapi_parts import array_of
from telemed.auth import logins
from telemed.auth.service import PASSWORD_MAX
from telemed.auth.web import current_actor
from telemed.dates import iso
from telemed.web import database, db_session, now

PASSWORD_CHANGE = Body(
    "PasswordChange",
    (
        Text("current_password", PASSWORD_MAX, required=True),
        Text(
            "new_password",
            PASSWORD_MAX,
            required=True,
            description="At least 12 characters, not common, not built from the user's own data",
        ),
    ),
)


def _addr() -> str | None:
    return (request.remote_addr or "")[:64] or None


def login_json(login: logins.Login) -> dict:
    return {
        "id": login.id,
        "kind": login.kind,
        "created_at": iso(login.created_at),
        "last_seen_at": iso(login.last_seen_at),
        "user_agent": login.user_agent,
        "ip": login.client_addr,
        "current": login.current,
    }


@api.post("/me/password")
@password_change_limited
@documented({"description": "Changed"}, status=204, errors=(403, 422, 429), body=PASSWORD_CHANGE)
def change_password():
    """Change the password with ``{current_password, new_password}``; every other login ends.

    403 ``invalid_password`` when the current password is wrong; 422 ``weak_password`` (zxcvbn's
    feedback in ``details``) when the new one is shorter than 12 characters or easy to guess; 429
    ``rate_limited`` after as many attempts as the login limit allows."""
    actor = current_actor()
    data = PASSWORD_CHANGE.read()
    service.change_password(
        database(),
        current_app.extensions["telemed.audit_keys"],
        current_app.extensions["telemed.passwords"],
        actor,
        current_password=data["current_password"],
        new_password=data["new_password"],
        keep=current_user.credential,
        client_addr=_addr(),
        now=now(),
    )
    return "", 204


@api.get("/me/sessions")
@documented(array_of("Login"))
def my_sessions():
    """The user's active logins (browser sessions and API tokens), newest first; ``current`` marks
    the one of this request."""
    actor = current_actor()
    found = logins.active_logins(db_session(), actor.id, now=now(), current=current_user.credential)
    return jsonify([login_json(login) for login in found])


@api.delete("/me/sessions/<login_id>")
@documented({"description": "Ended"}, status=204)
def end_my_session(login_id: str):
    """End one of the user's logins: its requests and sockets stop within a second (404
    ``not_found`` for an id that is not one of the user's active logins)."""
    actor = current_actor()
    service.end_login(
        database(),
        current_app.extensions["telemed.audit_keys"],
        actor,
        login_id[:64],
        client_addr=_addr(),
        now=now(),
    )
    return "", 204


@api.post("/admin/users/<int:user_id>/deactivate")
@documented({"description": "Deactivated"}, status=204, errors=(403, 404, 409))
def deactivate_user(user_id: int):
    """Admins: deactivate an account. It cannot log in any more; its sessions, tokens and sockets
    end. 403 ``forbidden`` for anyone else; 409 ``conflict`` for the admin's own account."""
    actor = current_actor()
    service.deactivate(
        database(),
        current_app.extensions["telemed.audit_keys"],
        actor,
        user_id,
        client_addr=_addr(),
        now=now(),
    )
    return "", 204
