"""API of the admin area: staff accounts (created with an e-mailed invitation, second factor reset).
Admins only: anyone else gets 403 ``forbidden``; every call is audited (``staff_user``)."""

from __future__ import annotations

from flask import current_app, jsonify

from telemed.admin import users
from telemed.api import api
from telemed.api.contract import Body, Raw, Text, documented
from telemed.api.openapi_parts import json_response, ref
from telemed.records.audit_web import audited
from telemed.web import database, deliver_outbox, now

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
