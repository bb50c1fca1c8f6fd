"""Pages: log in through OpenID Connect («Войти через Госуслуги»), ``/auth/oidc/login`` and its
callback ``/auth/oidc/callback``.

Both answer 404 when the login is not configured (``TELEMED_OIDC_ISSUER``). The callback logs in
the user ``members.identity.user_for_identity`` finds (opening the server-side login session as the
password login does, or leading to the member's second step when they enabled one), or answers a
4xx page that says what to do: 400 when the provider or the ``state`` failed, 403 when the identity
may not log in, 409 when the same first login ran twice at once. Every outcome is written to the
audit log (``account`` / ``oidc_login``; a new link also ``oidc_link`` with its patient).
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from telemed.auth import second_factor
from telemed.auth.actor import Actor
from telemed.auth.limits import oidc_limited
from telemed.auth.login_flow import begin_second_step, finish_login, safe_next
from telemed.auth.oidc import Provider, ProviderError
from telemed.auth.views import home_for
from telemed.members import identity
from telemed.records import audit
from telemed.web import database, now

bp = Blueprint("oidc", __name__, url_prefix="/auth/oidc")
log = logging.getLogger(__name__)
NEXT_KEY = "oidc_next"


def _provider() -> Provider:
    provider = current_app.extensions.get("telemed.oidc")
    if provider is None:
        abort(404)
    return provider


def _audit(actor: Actor | None, action: str, outcome: str, *, user_id=None, patient_id=None) -> None:
    audit.record(
        database(),
        current_app.extensions["telemed.audit_keys"],
        actor=actor,
        patient_id=patient_id,
        object_type="account",
        object_id=user_id,
        action=action,
        outcome=outcome,
        client_addr=(request.remote_addr or "")[:64] or None,
        now=now(),
    )


def _messages() -> dict[str, str]:
    return {
        "provider": _(
            "Gosuslugi did not confirm the login, or the login page was open too long. Please try again."
        ),
        "missing_claim": _(
            "Gosuslugi did not share your date of birth or your policy number. Allow sharing them and try "
            "again, or log in with your username and password."
        ),
        "no_match": _(
            "We did not find a policy for your date of birth and policy number. Check the policy number in "
            "your Gosuslugi profile or ask your employer's HR or the insurer to check your insured list."
        ),
        "minor": _(
            "Consultations for a child are arranged by a parent or guardian from their own account. "
            "Log in as the parent or guardian."
        ),
        "staff": _("Clinic staff log in with their username and password only."),
        "inactive": _("This account is deactivated. Please contact the insurer's support."),
        "linked_elsewhere": _(
            "This account is already linked to another Gosuslugi account. Log in with that one, or contact support."
        ),
    }


def _refused(status: int, reason: str):
    page = render_template("auth/oidc_refused.html", message=_messages()[reason], reason=reason)
    return page, status


@bp.get("/login")
@oidc_limited
def login():
    """Start the authorization-code flow (PKCE, ``state``, ``nonce``) at the provider."""
    provider = _provider()
    callback_url = url_for("oidc.callback", _external=True)
    try:
        target = provider.authorize_url(callback_url)
    except ProviderError as exc:
        log.warning("OpenID Connect login could not start: %s", exc)
        return _refused(400, "provider")
    session[NEXT_KEY] = safe_next(request.args.get("next")) or ""
    return redirect(target)


@bp.get("/callback")
@oidc_limited
def callback():
    """Finish the login the provider sent back: log the linked (or newly linked) member in."""
    provider = _provider()
    next_url = session.pop(NEXT_KEY, "") or None
    try:
        claims = identity.Claims.of(
            provider.claims(provider.exchange_code()),
            issuer=provider.issuer,
            policy_claim=current_app.config["OIDC_POLICY_CLAIM"],
        )
    except ProviderError as exc:
        log.warning("OpenID Connect login refused: %s", exc)
        _audit(None, "oidc_login", "denied")
        return _refused(400, "provider")
    try:
        with database().transaction() as s:
            found = identity.user_for_identity(
                s, current_app.extensions["telemed.passwords"], claims, now=now()
            )
            user = found.user
            if second_factor.needs_second_step(s, user.id, user.role):
                begin_second_step(user, next_url, now=now())
                target = url_for("otp.code")
            else:
                finish_login(s, user, now=now())
                target = safe_next(next_url) or home_for(user.role)
    except identity.Refused as exc:
        _audit(None, "oidc_login", "denied")
        return _refused(403, exc.reason)
    except IntegrityError:  # the same first login twice at once: the other one linked it; try again
        return _refused(409, "provider")
    actor = Actor(id=user.id, role=user.role, name=user.full_name)
    if found.patient_id is not None:
        _audit(actor, "oidc_link", "done", user_id=user.id, patient_id=found.patient_id)
    _audit(actor, "oidc_login", "done", user_id=user.id)
    return redirect(target)
