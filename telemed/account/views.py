"""Pages: «Пароль и сеансы» (change the password, see and end the active sessions)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from telemed import errors
from telemed.account import service
from telemed.account.limits import password_change_limited
from telemed.auth import logins, password_policy
from telemed.auth.web import current_actor
from telemed.error_handlers import translate
from telemed.web import database, db_session, now

bp = Blueprint("account", __name__)


def _addr() -> str | None:
    return (request.remote_addr or "")[:64] or None


def _page(status: int = 200, feedback: list[str] | None = None):
    actor = current_actor()
    found = logins.active_logins(db_session(), actor.id, now=now(), current=current_user.credential)
    return render_template(
        "account/account.html",
        logins=found,
        min_length=password_policy.MIN_LENGTH,
        feedback=feedback or [],
    ), status


@bp.get("/account")
def account():
    """The user's password form and active sessions (the current one marked)."""
    return _page()


@bp.post("/account/password")
@password_change_limited
def change_password():
    """Change the password (current one required); every other session and token ends."""
    actor = current_actor()
    try:
        ended = service.change_password(
            database(),
            current_app.extensions["telemed.audit_keys"],
            current_app.extensions["telemed.passwords"],
            actor,
            current_password=request.form.get("current_password", "")[:1024],
            new_password=request.form.get("new_password", "")[:1024],
            keep=current_user.credential,
            client_addr=_addr(),
            now=now(),
        )
    except errors.WeakPassword as exc:
        flash(exc.render(translate), "error")
        hints = [exc.details.get("warning"), *exc.details.get("suggestions", [])]
        return _page(422, [h for h in hints if h])
    except errors.InvalidPassword as exc:
        flash(exc.render(translate), "error")
        return _page(403)
    flash(_("Password changed. Other sessions ended: %(count)s.", count=ended), "success")
    return redirect(url_for("account.account"))


@bp.post("/account/sessions/<login_id>/end")
def end_session(login_id: str):
    """End one of the user's other sessions; its pages and connections stop within a second."""
    actor = current_actor()
    service.end_login(
        database(),
        current_app.extensions["telemed.audit_keys"],
        actor,
        login_id[:64],
        client_addr=_addr(),
        now=now(),
    )
    flash(_("Session ended."), "success")
    return redirect(url_for("account.account"))
