"""Pages (admins): contracts and their programmes, and the insured list's check and upload."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed import errors
from telemed.admin import access, contracts, gate
from telemed.admin import insured_apply as insured
from telemed.catalog.specialties import SPECIALTIES
from telemed.error_handlers import translate
from telemed.records.audit_web import audited
from telemed.web import database, db_session, now

bp = Blueprint("admin_contracts", __name__)
bp.before_request(gate.check_page)


def _form() -> dict[str, Any]:
    """The contract form as the service's input (absent checkboxes are off)."""
    f = request.form
    data: dict[str, Any] = {
        "number": f.get("number", ""),
        "client": f.get("client", ""),
        "starts_on": f.get("starts_on", ""),
        "ends_on": f.get("ends_on", ""),
        "telemedicine": f.get("telemedicine") == "on",
        "urgent": f.get("urgent") == "on",
        "covered_specialties": f.getlist("covered_specialties"),
    }
    limit = f.get("psychologist_limit", "").strip()
    data["psychologist_limit"] = int(limit) if limit.isdigit() and len(limit) < 4 else -1
    return data


def _page(template: str, status: int = 200, **context):
    return render_template(template, specialties=SPECIALTIES, **context), status


@bp.get("/admin/contracts")
def contracts_page():
    """The contracts, newest first, and the form for a new one."""
    with audited("contract", "read") as ctx:
        items = contracts.list_all(db_session(), ctx["actor"], limit=200)
    return _page("admin/contracts.html", contracts=[contracts.as_json(c) for c in items], form={})


@bp.post("/admin/contracts")
def create_contract():
    """Create a contract from the form; back to the list with the error otherwise."""
    data = _form()
    try:
        with audited("contract", "write") as ctx, database().transaction() as s:
            contract = contracts.create(s, ctx["actor"], data)
            ctx["object_id"] = contract.id
    except (errors.ValidationFailed, errors.Conflict) as exc:
        flash(exc.render(translate), "error")
        with audited("contract", "read") as ctx:
            items = contracts.list_all(db_session(), ctx["actor"], limit=200)
        return _page("admin/contracts.html", 422, contracts=[contracts.as_json(c) for c in items], form=data)
    flash(_("The contract is created."), "success")
    return redirect(url_for("admin_contracts.contract_page", contract_id=contract.id))


@bp.get("/admin/contracts/<int:contract_id>")
def contract_page(contract_id: int):
    """One contract: its programme to edit and the insured list to check or upload."""
    with audited("contract", "read", object_id=contract_id) as ctx:
        contract = contracts.as_json(contracts.get(db_session(), ctx["actor"], contract_id))
    return _page("admin/contract.html", contract=contract, outcome=None)


@bp.post("/admin/contracts/<int:contract_id>")
def update_contract(contract_id: int):
    """Save the programme; members' entitlements follow from now on, bookings stay."""
    data = _form()
    try:
        with audited("contract", "write", object_id=contract_id) as ctx, database().transaction() as s:
            contract = contracts.as_json(contracts.update(s, ctx["actor"], contract_id, data))
    except (errors.ValidationFailed, errors.Conflict) as exc:
        flash(exc.render(translate), "error")
        return _page("admin/contract.html", 422, contract={"id": contract_id, **data}, outcome=None)
    flash(_("The programme is saved."), "success")
    return redirect(url_for("admin_contracts.contract_page", contract_id=contract["id"]))


@bp.post("/admin/contracts/<int:contract_id>/insured")
def import_insured(contract_id: int):
    """«Проверить» (a dry run) or «Загрузить» the insured list; the errors are shown with their lines."""
    dry_run = request.form.get("action") != "apply"
    with audited("contract", "read" if dry_run else "import", object_id=contract_id) as ctx:
        access.check_admin(ctx["actor"])
        if (request.content_length or 0) > insured.MAX_MB * 1024 * 1024:
            flash(_("The file is larger than %(max_upload_mb)s MB.", max_upload_mb=insured.MAX_MB), "error")
            return redirect(url_for("admin_contracts.contract_page", contract_id=contract_id))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV or XLSX file."), "error")
            return redirect(url_for("admin_contracts.contract_page", contract_id=contract_id))
        with database().transaction() as s:
            outcome = insured.run(
                s,
                ctx["actor"],
                contract_id,
                upload.stream,
                dry_run=dry_run,
                now=now(),
                tz=ZoneInfo(current_app.config["CLINIC_TIMEZONE"]),
            )
            contract = contracts.as_json(contracts.get(s, ctx["actor"], contract_id))
    return _page("admin/contract.html", contract=contract, outcome=outcome.as_dict(), dry_run=dry_run)
