"""API: tokens, the current user, personal-data consent."""

from __future__ import annotations

from flask import current_app, jsonify

from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.parsing import field_str, json_body
from telemed.auth import service
from telemed.auth.limits import login_limited
from telemed.auth.models import User
from telemed.auth.web import bearer_token, token_ttl
from telemed.catalog.models import Doctor
from telemed.members import service as members
from telemed.web import clinic_tz, current_actor, database, db_session, now


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


def _policy_json(policy) -> dict | None:
    if policy is None:
        return None
    c = policy.contract
    return {
        "number": policy.number,
        "valid_from": policy.valid_from.isoformat(),
        "valid_to": policy.valid_to.isoformat(),
        "contract": {
            "number": c.number,
            "client": c.client,
            "telemedicine": c.telemedicine,
            "covered_specialties": list(c.covered_specialties or []),
            "psychologist_limit": c.psychologist_limit,
        },
    }


def me_payload(session, actor) -> dict:
    """What ``GET /me`` returns; also used by the cabinet page."""
    user = session.get(User, actor.id)
    today = now().astimezone(clinic_tz()).date()
    version = current_app.config["CONSENT_VERSION"]
    patients = []
    for p in members.bookable_patients(session, actor.id):
        policy = members.active_policy(session, p.id, today)
        ent = members.psychologist_entitlement(session, p, today)
        patients.append(
            {
                **ser.patient(p, today),
                "is_self": p.user_id == actor.id,
                "policy": _policy_json(policy),
                "psychologist": ent.as_dict(),
            }
        )
    own = next((p for p in patients if p["is_self"]), None)
    body = {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "name": user.full_name,
        "timezone": user.timezone,
        "locale": user.locale,
        "patients": patients,
        "policy": own["policy"] if own else None,
        "entitlements": {"psychologist": {str(p["id"]): p["psychologist"] for p in patients}},
        "consent": {
            "current_version": version,
            "accepted": service.current_consent(session, actor.id, version) is not None,
        },
    }
    doctor = session.query(Doctor).filter_by(user_id=actor.id).one_or_none()
    if doctor is not None:
        body["doctor"] = {"id": doctor.id, "specialty": doctor.specialty_code}
    return body


@api.get("/me")
def me():
    """The current user, who they may book for, policy, entitlements and consent."""
    return jsonify(me_payload(db_session(), current_actor()))


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
