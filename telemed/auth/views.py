"""Pages: log in, log out, an invitation's password, personal-data consent, language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from telemed import errors
from telemed.auth import invitations, password_policy, second_factor, service
from telemed.auth.limits import login_limited
from telemed.auth.login_flow import begin_second_step, demo_code, finish_login, safe_next
from telemed.auth.models import User
from telemed.auth.roles import Role
from telemed.auth.web import current_actor
from telemed.error_handlers import translate
from telemed.web import database, db_session, now

bp = Blueprint("auth", __name__)


def home_for(role: str) -> str:
    """Where a user lands after logging in: the schedule, the cabinet, the complaints (curators) or
    the patient search."""
    if role == Role.DOCTOR:
        return url_for("scheduling.schedule")
    if role == Role.CURATOR:
        return url_for("feedback.complaints_page")
    return url_for("scheduling.cabinet") if role == Role.MEMBER else url_for("records.patients")


@bp.get("/")
def index():
    """The personal cabinet for logged-in users, the login page otherwise."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    return redirect(url_for("auth.login"))


def _login_page(**context) -> str:
    """The login form; with OpenID Connect configured, also «Войти через Госуслуги»."""
    oidc = current_app.extensions.get("telemed.oidc") is not None
    return render_template("auth/login.html", oidc=oidc, **context)


@bp.route("/login", methods=["GET", "POST"])
@login_limited
def login():
    """Log in with username and password. Opens a server-side login session, or, for staff and
    members with an authenticator, leads to the second step (the code, or enrolment for staff
    without one) first."""
    demo = demo_code(now=now())
    if request.method == "GET":
        return _login_page(next=request.args.get("next", ""), demo_code=demo)
    username = service.login_name(request.form.get("username", ""))[:64]
    password = request.form.get("password", "")[:1024]
    next_url = request.form.get("next")
    try:
        with database().transaction() as s:
            user = service.authenticate(s, current_app.extensions["telemed.passwords"], username, password)
            if second_factor.needs_second_step(s, user.id, user.role):
                enrolled = second_factor.is_enrolled(s, user.id)
                begin_second_step(user, next_url, now=now())
                return redirect(url_for("otp.code" if enrolled else "otp.enrol"))
            finish_login(s, user, now=now())
    except errors.InvalidCredentials as exc:
        flash(exc.render(translate), "error")
        page = _login_page(next=next_url or "", username=username, demo_code=demo)
        return page, 401
    return redirect(safe_next(next_url) or home_for(user.role))


@bp.route("/auth/invite/<token>", methods=["GET", "POST"])
@login_limited
def invite(token: str):
    """An invitation's one-time link: set a password (``password_policy``), then log in as usual
    (consent first, as every member). A used, expired or unknown link is 404."""
    token = token[:128]
    with database().transaction() as s:
        invitation = invitations.find(s, token, now=now())
        user = s.get(User, invitation.user_id)
        username = user.username if user else ""
    page = {"token": token, "username": username, "min_length": password_policy.MIN_LENGTH}
    if request.method == "GET":
        return render_template("auth/invite.html", **page)
    try:
        with database().transaction() as s:
            invitations.accept(
                s,
                current_app.extensions["telemed.passwords"],
                token,
                request.form.get("password", "")[:1024],
                now=now(),
            )
    except errors.WeakPassword as exc:
        flash(exc.render(translate), "error")
        return render_template("auth/invite.html", **page), 422
    flash(_("Your password is set. Log in with it."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout")
def logout():
    """End the login session on the server, so an old cookie no longer works."""
    if current_user.is_authenticated and current_user.session_id:
        with database().transaction() as s:
            service.close_login_session(s, current_user.session_id, now=now())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    """Show, accept or withdraw the personal-data consent."""
    actor = current_actor()
    version = current_app.config["CONSENT_VERSION"]
    if request.method == "POST":
        with database().transaction() as s:
            if request.form.get("action") == "withdraw":
                service.withdraw_consent(s, actor.id, now=now())
                flash(
                    _(
                        "Consent withdrawn. Your upcoming consultations and those of the children in your "
                        "care are cancelled; chat, uploads, calls and new requests are unavailable until you "
                        "accept it again. Your medical record is kept, as the law requires."
                    ),
                    "info",
                )
            else:
                service.accept_consent(s, actor.id, version=version, current_version=version, now=now())
                flash(_("Thank you. Consent accepted."), "success")
        return redirect(safe_next(request.form.get("next")) or url_for("auth.consent"))
    record = service.current_consent(db_session(), actor.id, version)
    user = db_session().get(User, actor.id)
    return render_template(
        "auth/consent.html", version=version, record=record, user=user, next=request.args.get("next", "")
    )
