"""API: tokens, the current user, personal-data consent."""

from __future__ import annotations

from flask import current_app, jsonify

from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.parsing import field_str, json_body
from telemed.auth import service
from telemed.auth.limits import login_limited
from telemed.auth.web import bearer_token, current_actor, token_ttl
from telemed.scheduling.cabinet import me_payload
from telemed.web import clinic_tz, database, db_session, now


def _passwords():
    return current_app.extensions["telemed.passwords"]


@api.post("/auth/token")
@login_limited
def issue_token():
    """Exchange ``{username, password}`` for a bearer token: 200 ``{token, user}`` or 401."""
    data = json_body()
    username = field_str(data, "username", max_len=64)
    password = field_str(data, "password", max_len=1024)
    with database().transaction() as s:
        user = service.authenticate(s, _passwords(), username, password)
        token = service.issue_token(s, user, now=now(), ttl=token_ttl())
        body = {
            "token": token,
            "token_type": "Bearer",
            "expires_in": int(token_ttl().total_seconds()),
            "user": {"id": user.id, "role": user.role, "name": user.full_name},
        }
    return jsonify(body)


@api.delete("/auth/token")
def revoke_token():
    """Revoke the bearer token used for this request: 204."""
    current_actor()
    raw = bearer_token()
    if raw:
        with database().transaction() as s:
            service.revoke_token(s, raw, now=now())
    return "", 204


@api.get("/me")
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
def accept_consent():
    """Accept ``{version}`` of the personal-data consent (must be the current one)."""
    actor = current_actor()
    version = field_str(json_body(), "version", max_len=32)
    current = current_app.config["CONSENT_VERSION"]
    with database().transaction() as s:
        record = service.accept_consent(s, actor.id, version=version, current_version=current, now=now())
        body = {"current_version": current, "accepted": True, "accepted_at": ser.iso(record.accepted_at)}
    return jsonify(body)


@api.delete("/me/consent")
def withdraw_consent():
    """Withdraw consent: new bookings are refused until it is accepted again."""
    actor = current_actor()
    with database().transaction() as s:
        service.withdraw_consent(s, actor.id, now=now())
    return jsonify({"current_version": current_app.config["CONSENT_VERSION"], "accepted": False})
