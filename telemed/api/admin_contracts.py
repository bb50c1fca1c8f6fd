"""API: contracts, their programmes and insured lists (admins only; 403 ``forbidden`` to others)."""

from __future__ import annotations

import tempfile
from zoneinfo import ZoneInfo

from flask import current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from telemed import errors
from telemed.admin import access, contracts
from telemed.admin import insured_apply as insured
from telemed.api import api, parsing
from telemed.api.chat import MULTIPART_OVERHEAD
from telemed.api.contract import Body, ChoiceParam, IntParam, Raw, documented, trimmed_at_least
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.catalog.specialties import CODES
from telemed.documents.multipart import READ_SIZE, MultipartFileReader
from telemed.records.audit_web import audited
from telemed.translatable import _l
from telemed.web import database, db_session, now

IMPORT_MAX_MB = insured.MAX_MB
SPOOL_BYTES = 8 * 1024 * 1024

_DAY = {
    "type": "string",
    "format": "date",
    "pattern": r"^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
}
_SPECIALTIES = {"type": "array", "items": {"type": "string", "enum": list(CODES)}, "maxItems": 40}
_LIMIT = {"type": "integer", "minimum": 0, "maximum": contracts.LIMIT_MAX}
_BOOL = {"type": "boolean"}


def _text(max_len: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": trimmed_at_least(1)}


def _fields(required: bool) -> tuple:
    """The programme's fields; absent ones keep their value (PUT) or default (POST: telemedicine
    and urgent true, psychologist_limit 3); null is refused."""
    return (
        Raw("number", _text(contracts.NUMBER_MAX), required=required),
        Raw("client", _text(contracts.CLIENT_MAX), required=required),
        Raw("starts_on", {**_DAY, "description": "The first day (YYYY-MM-DD)"}, required=required),
        Raw("ends_on", {**_DAY, "description": "The last day (YYYY-MM-DD)"}, required=required),
        Raw("telemedicine", _BOOL),
        Raw("urgent", {**_BOOL, "description": "Urgent (on-demand) consultations included"}),
        Raw("covered_specialties", _SPECIALTIES, required=required),
        Raw("psychologist_limit", _LIMIT),
    )


CREATE = Body("AdminContractRequest", _fields(True), closed=True)
UPDATE = Body("AdminContractUpdate", _fields(False), required=False, closed=True)
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)
DRY_RUN = ChoiceParam("dry_run", ("0", "1"))


def _body(spec: Body) -> dict:
    """The JSON object sent; fields other than ``spec``'s are refused, the service checks the rest."""
    data = parsing.json_body()
    unknown = sorted(set(data) - {f.name for f in spec.fields})
    if unknown:
        raise errors.ValidationFailed(
            _l("Unknown fields: %(names)s.", names=", ".join(unknown)[:200]), details={"field": unknown[0]}
        )
    return data


@api.post("/admin/contracts")
@documented(json_response(ref("AdminContract"), "Created"), status=201, errors=(403, 409), body=CREATE)
def create_contract():
    """Admins: a new contract and its programme (``urgent`` and ``telemedicine`` default to true,
    ``psychologist_limit`` to 3). 409 ``conflict`` when the number is taken."""
    with audited("contract", "write") as ctx:
        access.check_admin(ctx["actor"])
        data = _body(CREATE)
        with database().transaction() as s:
            contract = contracts.create(s, ctx["actor"], data)
            ctx["object_id"] = contract.id
            body = contracts.as_json(contract)
    return jsonify(body), 201


@api.get("/admin/contracts")
@documented(json_response(array_of("AdminContract")), errors=(403,), query=(LIMIT, OFFSET))
def list_contracts():
    """Admins: contracts, newest first."""
    with audited("contract", "read") as ctx:
        items = contracts.list_all(db_session(), ctx["actor"], limit=LIMIT.read(), offset=OFFSET.read())
        body = [contracts.as_json(c) for c in items]
    return jsonify(body)


@api.get("/admin/contracts/<int:contract_id>")
@documented(json_response(ref("AdminContract")), errors=(403,))
def get_contract(contract_id: int):
    """Admins: one contract."""
    with audited("contract", "read", object_id=contract_id) as ctx:
        body = contracts.as_json(contracts.get(db_session(), ctx["actor"], contract_id))
    return jsonify(body)


@api.put("/admin/contracts/<int:contract_id>")
@documented(json_response(ref("AdminContract")), errors=(403, 409), body=UPDATE)
def update_contract(contract_id: int):
    """Admins: change the fields sent. Booked consultations stay; entitlements follow from now on."""
    with audited("contract", "write", object_id=contract_id) as ctx:
        access.check_admin(ctx["actor"])
        data = _body(UPDATE)
        with database().transaction() as s:
            body = contracts.as_json(contracts.update(s, ctx["actor"], contract_id, data))
    return jsonify(body)


def _spooled(reader: MultipartFileReader, limit: int):
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the caller)
    size = 0
    while chunk := reader.read(READ_SIZE):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise errors.FileTooLarge(
                _l("The file is larger than %(max_upload_mb)s MB.", max_upload_mb=IMPORT_MAX_MB)
            )
        spool.write(chunk)
    spool.seek(0)
    return spool


@api.post("/admin/contracts/<int:contract_id>/insured")
@documented(
    json_response(ref("InsuredImport")), errors=(403, 404, 409, 413), multipart=True, query=(DRY_RUN,)
)
def import_insured(contract_id: int):
    """Admins: import the insured list (multipart ``file``, CSV or XLSX); ``?dry_run=1`` only checks.

    200 ``{applied, rows, created, updated, unchanged, errors: [{line, reason, field?}]}``: a file
    with any bad row is refused whole (``applied: false``); a clean one is applied in one
    transaction (new adults with an e-mail are invited to set a password). 409 ``conflict`` when a
    concurrent import wrote one of its policies first (nothing of this file is applied)."""
    with audited("contract", "import", object_id=contract_id) as ctx:
        access.check_admin(current_actor())
        dry_run = DRY_RUN.read() == "1"
        if dry_run:
            ctx["action"] = "read"
        limit = IMPORT_MAX_MB * 1024 * 1024
        if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
            raise errors.FileTooLarge(
                _l("The file is larger than %(max_upload_mb)s MB.", max_upload_mb=IMPORT_MAX_MB)
            )
        reader = MultipartFileReader(request.stream, request.headers.get("Content-Type"))
        try:
            with _spooled(reader, limit) as spool, database().transaction() as s:
                outcome = insured.run(
                    s,
                    ctx["actor"],
                    contract_id,
                    spool,
                    dry_run=dry_run,
                    now=now(),
                    tz=ZoneInfo(current_app.config["CLINIC_TIMEZONE"]),
                )
        except IntegrityError:  # another import wrote one of these policies meanwhile: nothing applied
            raise errors.Conflict(
                _l(
                    "Another import added some of these policies at the same time. Nothing was changed: check the file again."
                )
            ) from None
    return jsonify(outcome.as_dict())
