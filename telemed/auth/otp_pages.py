"""Pages of the second factor: the code after the password, enrolling an authenticator (at the
first login of staff, or from the account page), recovery codes."""

from __future__ import annotations

import segno
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from telemed import errors
from telemed.auth import otp, second_factor
from telemed.auth.limits import second_step_limited
from telemed.auth.login_flow import demo_code, finish_login, pending
from telemed.auth.models import User
from telemed.auth.views import home_for
from telemed.auth.web import current_actor
from telemed.error_handlers import translate
from telemed.web import database, db_session, now

bp = Blueprint("otp", __name__)


def _qr_svg(uri: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code (no script, no network)."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def _expired():
    flash(_("The login took too long. Please log in again."), "error")
    return redirect(url_for("auth.login"))


def _code() -> str:
    return request.form.get("code", "")[: otp.CODE_MAX]


@bp.route("/login/code", methods=["GET", "POST"])
@second_step_limited
def code():
    """The second step of a login: a code from the authenticator app or a recovery code; opens the
    login session. Failed codes count against the login rate limits."""
    started = pending(now=now())
    if started is None:
        return _expired()
    if request.method == "GET":
        return render_template("auth/otp_code.html", demo_code=demo_code(now=now()))
    try:
        with database().transaction() as s:
            user = s.get(User, started["uid"])
            if user is None or not user.is_active:
                return _expired()
            second_factor.verify(s, user.id, _code(), now=now())
            finish_login(s, user, now=now())
    except (errors.InvalidOtp, errors.OtpRequired) as exc:
        flash(exc.render(translate), "error")
        return render_template("auth/otp_code.html", demo_code=demo_code(now=now())), 401
    return redirect(started["next"] or home_for(user.role))


@bp.route("/login/enrol", methods=["GET", "POST"])
@second_step_limited
def enrol():
    """First login of staff without an authenticator: scan the QR code, confirm with a first code;
    only then the login session opens, and the recovery codes are shown, once."""
    started = pending(now=now())
    if started is None:
        return _expired()
    with database().transaction() as s:
        user = s.get(User, started["uid"])
        if user is None or not user.is_active:
            return _expired()
        if second_factor.is_enrolled(s, user.id):
            return redirect(url_for("otp.code"))
        secret = second_factor.start_enrolment(s, user.id, now=now())
        username, role = user.username, user.role
    if request.method == "POST":
        try:
            with database().transaction() as s:
                codes = second_factor.confirm_enrolment(s, started["uid"], _code(), now=now())
                finish_login(s, s.get_one(User, started["uid"]), now=now())
        except errors.InvalidOtp as exc:
            flash(exc.render(translate), "error")
        else:
            return render_template(
                "auth/otp_recovery.html", codes=codes, next=started["next"] or home_for(role)
            )
    return _enrol_page(secret, username, "otp.enrol", refused_status=401)


def _enrol_page(secret: str, username: str, endpoint: str, *, refused_status: int):
    """The enrolment page (QR code and key) posting to ``endpoint``; after a refused code, with
    ``refused_status``."""
    page = render_template(
        "auth/otp_enrol.html",
        qr=_qr_svg(otp.provisioning_uri(secret, username)),
        secret=secret,
        action=url_for(endpoint),
    )
    return page, (refused_status if request.method == "POST" else 200)


@bp.get("/account/authenticator")
def account():
    """The account's second factor: whether it is on, how many recovery codes are left."""
    actor = current_actor()
    s = db_session()
    return render_template(
        "auth/otp_account.html",
        enrolled=second_factor.is_enrolled(s, actor.id),
        required=second_factor.required_by_role(actor.role),
        recovery_left=second_factor.unused_recovery_codes(s, actor.id),
    )


@bp.route("/account/authenticator/enrol", methods=["GET", "POST"])
def account_enrol():
    """Turn the second factor on (members; staff already have it): scan, confirm with a code."""
    actor = current_actor()
    with database().transaction() as s:
        if second_factor.is_enrolled(s, actor.id):
            return redirect(url_for("otp.account"))
        secret = second_factor.start_enrolment(s, actor.id, now=now())
        username = s.get_one(User, actor.id).username
    if request.method == "POST":
        try:
            with database().transaction() as s:
                codes = second_factor.confirm_enrolment(s, actor.id, _code(), now=now())
        except errors.InvalidOtp as exc:
            flash(exc.render(translate), "error")
        else:
            return render_template("auth/otp_recovery.html", codes=codes, next=url_for("otp.account"))
    return _enrol_page(secret, username, "otp.account_enrol", refused_status=422)


@bp.post("/account/authenticator/recovery-codes")
def new_recovery_codes():
    """New recovery codes (the old ones stop working), after a current code."""
    actor = current_actor()
    try:
        with database().transaction() as s:
            second_factor.verify(s, actor.id, _code(), now=now())
            codes = second_factor.regenerate_recovery_codes(s, actor.id)
    except (errors.InvalidOtp, errors.OtpRequired) as exc:
        flash(exc.render(translate), "error")
        return redirect(url_for("otp.account"))
    return render_template("auth/otp_recovery.html", codes=codes, next=url_for("otp.account"))


@bp.post("/account/authenticator/off")
def turn_off():
    """A member turns the second factor off, after a current code; staff cannot (403)."""
    actor = current_actor()
    try:
        with database().transaction() as s:
            if second_factor.required_by_role(actor.role):
                raise errors.NotPermitted()
            second_factor.verify(s, actor.id, _code(), now=now())
            second_factor.disable(s, actor.id, actor.role)
    except (errors.InvalidOtp, errors.OtpRequired) as exc:
        flash(exc.render(translate), "error")
        return redirect(url_for("otp.account"))
    flash(_("The authenticator app is no longer asked for at login."), "info")
    return redirect(url_for("otp.account"))
