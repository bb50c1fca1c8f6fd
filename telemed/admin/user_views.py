"""Admin pages: the users (search by text, filter by role), a staff account created with an e-mailed
invitation, a second factor reset, an account deactivated (never the admin's own). Thin: they read
the form, call ``admin.users`` and ``account.service`` (the same services as the API) and render."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed import errors, inputs
from telemed.account import service as account_service
from telemed.admin import gate, users
from telemed.auth.service import USERNAME_MAX
from telemed.auth.web import current_actor
from telemed.error_handlers import translate
from telemed.records.audit_web import audited
from telemed.web import database, db_session, deliver_outbox, now

bp = Blueprint("admin_users", __name__)
bp.before_request(gate.check_page)
PAGE = 100
FIELDS = (("username", USERNAME_MAX), ("full_name", users.NAME_MAX), ("email", users.EMAIL_MAX))


def _filters() -> dict:
    """The list's search text and role from the query (a bad role or text: no filter)."""
    role = request.args.get("role") or None
    try:
        q = inputs.clean_text(request.args.get("q", ""), "q", max_len=users.SEARCH_MAX)
    except errors.ValidationFailed:
        q = ""
    return {"role": role if role in users.ROLES else None, "q": q or None}


@bp.get("/admin/users")
def users_page(error: str | None = None, form: dict | None = None, status: int = 200):
    """The users, newest first (at most ``PAGE``), and the form to create a staff account."""
    filters = _filters()
    with audited("staff_user", "read") as ctx:
        actor = ctx["actor"]
        found = users.listing(db_session(), actor, **filters, limit=PAGE, now=now())
    page = render_template(
        "admin/users.html",
        users=[users.user_json(u, invited=invited) for u, invited in found],
        me=actor.id,
        roles=users.ROLES,
        staff_roles=users.STAFF_ROLES,
        filters=filters,
        page_size=PAGE,
        error=error,
        form=form or {},
    )
    return page, status


@bp.post("/admin/users")
def create_user_page():
    """Create a staff account and invite it; a refusal shows the form again with the input kept."""
    f = request.form
    try:
        with audited("staff_user", "write") as ctx:
            data = {"role": f.get("role", "")}
            for field, max_len in FIELDS:
                data[field] = inputs.clean_text(f.get(field, ""), field, max_len=max_len)
            if not data["username"] or not data["full_name"]:
                raise errors.ValidationFailed(_("Fill in the username and the full name."))
            with database().transaction() as s:
                user, invited = users.create_staff(
                    s, current_app.extensions["telemed.passwords"], ctx["actor"], **data, now=now()
                )
                ctx["object_id"] = user.id
    except (errors.ValidationFailed, errors.Conflict) as exc:
        return users_page(exc.render(translate), f.to_dict(), 409 if exc.status == 409 else 422)
    deliver_outbox()
    if invited:
        message = _(
            "%(name)s is created; an invitation is sent to %(email)s.",
            name=data["username"],
            email=data["email"],
        )
    else:
        message = _("%(name)s is created.", name=data["username"])
    flash(message, "success")
    return redirect(url_for(".users_page"))


@bp.post("/admin/users/<int:user_id>/reset-second-factor")
def reset_second_factor_page(user_id: int):
    """Delete the user's authenticator and recovery codes: they enrol again at their next login."""
    with audited("staff_user", "reset_2fa", object_id=user_id) as ctx, database().transaction() as s:
        user = users.reset_second_factor(s, ctx["actor"], user_id)
        name = user.username
    flash(
        _(
            "The second factor of %(name)s is reset: they set up an authenticator at their next login.",
            name=name,
        ),
        "success",
    )
    return redirect(url_for(".users_page"))


@bp.post("/admin/users/<int:user_id>/deactivate")
def deactivate_page(user_id: int):
    """Deactivate an account (``account.service.deactivate``, which audits); never one's own."""
    actor = current_actor()
    try:
        users.check_may_deactivate(actor, user_id)
    except errors.Conflict as exc:
        flash(exc.render(translate), "error")
        return redirect(url_for(".users_page"))
    except errors.NotPermitted:
        pass  # refused below, and audited as denied, as the API does
    account_service.deactivate(
        database(),
        current_app.extensions["telemed.audit_keys"],
        actor,
        user_id,
        client_addr=(request.remote_addr or "")[:64] or None,
        now=now(),
    )
    flash(_("The account is deactivated: it cannot log in, and its sessions have ended."), "success")
    return redirect(url_for(".users_page"))
