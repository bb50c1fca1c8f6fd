"""Audit every e-card access from pages and the API: allowed and denied, with who, what and from where.

The web layer's side of ``records.audit`` (which stays free of Flask).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from flask import current_app, request
from flask_login import current_user

from telemed import errors
from telemed.auth.web import current_actor
from telemed.records import audit
from telemed.web import database, now

_DENIALS = (errors.NotFound, errors.NotPermitted, errors.NotAuthenticated)


@contextmanager
def audited(object_type: str, action: str, *, patient_id: int | None = None, object_id: object = None):
    """Yield ``ctx`` with the authenticated ``actor``; the handler may fill ``patient_id``/``object_id``.

    Success is logged as ``allowed``; an access refusal (401/403/404, including an anonymous
    caller) as ``denied`` before the error propagates. Other failures (bad input) touch no record
    and are not logged.
    """
    ctx: dict[str, Any] = {"patient_id": patient_id, "object_id": object_id, "actor": None}
    actor = current_user.actor if current_user and current_user.is_authenticated else None

    def log(outcome: str) -> None:
        audit.record(
            database(),
            current_app.extensions["telemed.audit_keys"],
            actor=actor,
            patient_id=ctx["patient_id"],
            object_type=object_type,
            object_id=None if ctx["object_id"] is None else str(ctx["object_id"]),
            action=action,
            outcome=outcome,
            client_addr=(request.remote_addr or "")[:64],
            now=now(),
        )

    try:
        ctx["actor"] = current_actor()
        yield ctx
    except _DENIALS:
        log("denied")
        raise
    log("allowed")
