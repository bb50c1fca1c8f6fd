"""API: tokens, the current user, personal-data consent."""

from __future__ import annotations

from flask import current_app, jsonify

from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.contract import Body, Secret, Text, documented
from telemed.api.openapi_parts import json_response, ref
from telemed.auth import otp, second_factor, service
from telemed.auth.limits import login_limited
from telemed.auth.web import bearer_token, current_actor, device, token_ttl
from telemed.scheduling.cabinet import me_payload
from telemed.web import clinic_tz, database, db_session, now


def _passwords():
    return current_app.extensions["telemed.passwords"]


CREDENTIALS = Body(
    "Credentials",
    (
        Text("username", service.USERNAME_MAX, required=True),
        Secret("password", service.PASSWORD_MAX),
        Text(
            "otp",
            otp.CODE_MAX,
            description="The code of the user's authenticator app, or a recovery code: required for staff "
            "and for members who turned the second factor on; ignored otherwise",
        ),
    ),
)
CONSENT = Body("ConsentRequest", (Text("version", 32, required=True, description="The current version"),))


@api.post("/auth/token")
@login_limited
@documented(json_response(ref("Token")), errors=(401, 429), body=CREDENTIALS, public=True)
def issue_token():
    """Log in: exchange ``{username, password, otp}`` for a bearer token (``otp``: staff, and members
    with the second factor on).

    401 ``invalid_credentials``; 401 ``otp_required`` without a code (or for staff who have not set up
    their authenticator on the web yet) and ``invalid_otp`` for a wrong or used one; 429 ``rate_limited``
    after too many attempts from one address or for one username (failed codes count)."""
    data = CREDENTIALS.read()
    username, password = data["username"], data["password"]
    with database().transaction() as s:
        user = service.authenticate(s, _passwords(), username, password)
        if second_factor.needs_second_step(s, user.id, user.role):
            second_factor.verify(s, user.id, data["otp"], now=now())
        token = service.issue_token(s, user, now=now(), ttl=token_ttl(), device=device())
        body = {
            "token": token,
            "token_type": "Bearer",
            "expires_in": int(token_ttl().total_seconds()),
            "user": {"id": user.id, "role": user.role, "name": user.full_name},
        }
    return jsonify(body)


@api.delete("/auth/token")
@documented({"description": "Revoked"}, status=204)
def revoke_token():
    """Revoke the bearer token used for this request."""
    current_actor()
    raw = bearer_token()
    if raw:
        with database().transaction() as s:
            service.revoke_token(s, raw, now=now())
    return "", 204


@api.get("/me")
@documented(json_response(ref("Me")))
def me():
    """The current user, who they may book for, policy, entitlements and consent."""
    return jsonify(
        me_payload(
            db_session(),
            current_actor(),
            today=now().astimezone(clinic_tz()).date(),
            consent_version=current_app.config["CONSENT_VERSION"],
        )
    )


@api.post("/me/consent")
@documented(json_response(ref("Consent")), body=CONSENT)
def accept_consent():
    """Accept ``{version}`` of the personal-data consent (422 unless it is the current one)."""
    actor = current_actor()
    version = CONSENT.read()["version"]
    current = current_app.config["CONSENT_VERSION"]
    with database().transaction() as s:
        record = service.accept_consent(s, actor.id, version=version, current_version=current, now=now())
        body = {"current_version": current, "accepted": True, "accepted_at": ser.iso(record.accepted_at)}
    return jsonify(body)


@api.delete("/me/consent")
@documented(json_response(ref("Consent")))
def withdraw_consent():
    """Withdraw consent: every consultation of the member and of the children in their care that has
    not started is cancelled (``cancel_reason`` says why); until it is accepted again, bookings,
    urgent requests, chat messages, uploads, joining a room and the pre-call check answer 422
    ``consent_required``. The e-card is kept, read-only."""
    actor = current_actor()
    with database().transaction() as s:
        service.withdraw_consent(s, actor.id, now=now())
    return jsonify({"current_version": current_app.config["CONSENT_VERSION"], "accepted": False})
