"""API of the admin area: the users (a searchable list), staff accounts (created with an e-mailed
invitation, second factor reset). Admins only: anyone else gets 403 ``forbidden``; every call is
audited (``staff_user``)."""

from __future__ import annotations

from flask import current_app, jsonify

from telemed.admin import users
from telemed.api import api
from telemed.api.contract import Body, ChoiceParam, IntParam, Raw, Text, TextParam, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.records.audit_web import audited
from telemed.web import database, db_session, deliver_outbox, now

STAFF_USER = Body(
    "StaffUserRequest",
    (
        Text("username", 64, required=True),
        Text("full_name", users.NAME_MAX, required=True),
        Raw("role", {"type": "string", "enum": list(users.STAFF_ROLES)}, required=True),
        Text("email", users.EMAIL_MAX, required=True),
    ),
    closed=True,
)
ROLE = ChoiceParam("role", users.ROLES)
SEARCH = TextParam("q", users.SEARCH_MAX)
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)


@api.get("/admin/users")
@documented(json_response(array_of("StaffUser")), errors=(403,), query=(ROLE, SEARCH, LIMIT, OFFSET))
def admin_list_users():
    """Admins: every user (members too), newest first; ``role`` keeps one role, ``q`` keeps those
    whose username, full name or e-mail contains it (any case). ``invited``: an unused, unexpired
    invitation link is open."""
    with audited("staff_user", "read") as ctx:
        found = users.listing(
            db_session(),
            ctx["actor"],
            role=ROLE.read(),
            q=SEARCH.read(),
            limit=LIMIT.read(),
            offset=OFFSET.read(),
            now=now(),
        )
        body = [users.user_json(user, invited=invited) for user, invited in found]
    return jsonify(body)


@api.post("/admin/users")
@documented(json_response(ref("StaffUser"), "Created"), status=201, errors=(403, 409), body=STAFF_USER)
def admin_create_user():
    """Admins: create a staff account (doctor, records, admin, curator); it is invited by e-mail to
    set its own password (no password is ever sent) and enrols an authenticator at first login."""
    with audited("staff_user", "write") as ctx:
        data = STAFF_USER.read()
        with database().transaction() as s:
            user, invited = users.create_staff(
                s,
                current_app.extensions["telemed.passwords"],
                ctx["actor"],
                username=data["username"],
                full_name=data["full_name"],
                role=data["role"],
                email=data["email"],
                now=now(),
            )
            ctx["object_id"] = user.id
            body = users.user_json(user, invited=invited)
    deliver_outbox()
    return jsonify(body), 201


@api.post("/admin/users/<int:user_id>/reset-second-factor")
@documented(json_response(ref("StaffUser")), errors=(403,))
def admin_reset_second_factor(user_id: int):
    """Admins: delete a user's authenticator and recovery codes; staff enrol again at next login."""
    with audited("staff_user", "reset_2fa", object_id=user_id) as ctx, database().transaction() as s:
        body = users.user_json(users.reset_second_factor(s, ctx["actor"], user_id))
    return jsonify(body)


# ``POST /admin/users/{id}/deactivate`` exists already (``api/account.py``, ``account.service.deactivate``).
