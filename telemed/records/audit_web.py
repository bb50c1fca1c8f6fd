"""Audit every e-card access from pages and the API: allowed and denied, with who, what and from where.

The web layer's side of ``records.audit`` (which stays free of Flask).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from flask import current_app, request

from telemed import errors
from telemed.auth.actor import Actor
from telemed.auth.web import current_actor
from telemed.records import audit, audit_subjects
from telemed.web import database, now

_DENIALS = (errors.NotFound, errors.NotPermitted)


def log_access(
    actor: Actor, object_type: str, action: str, outcome: str, *, object_id: object, patient_id: int | None
) -> None:
    """Append one access to the audit log, from a page, the API or a socket event; without
    ``patient_id`` the object's patient is looked up (``audit_subjects``)."""
    db = database()
    if patient_id is None:
        with db.session() as s:
            patient_id = audit_subjects.patient_of(s, object_type, object_id)
    audit.record(
        db,
        current_app.extensions["telemed.audit_keys"],
        actor=actor,
        patient_id=patient_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        action=action,
        outcome=outcome,
        client_addr=(request.remote_addr or "")[:64],
        now=now(),
    )


def log_join(actor: Actor, consultation_id: int, outcome: str) -> None:
    """The socket ``join``'s audit hook (``video.events.JOIN_AUDIT``): it read the chat history."""
    log_access(actor, "chat", "read", outcome, object_id=consultation_id, patient_id=None)


@contextmanager
def audited(object_type: str, action: str, *, patient_id: int | None = None, object_id: object = None):
    """Yield ``ctx`` with the authenticated ``actor``; the handler may fill ``patient_id``/``object_id``
    (and name the ``action`` more exactly once it has read the request).

    Success is logged as ``allowed``; an access refusal (403/404) as ``denied`` before the error
    propagates. Either way, when the handler did not name the patient, the object's patient is
    looked up (``audit_subjects``), so a refused probe shows in that patient's access log. An
    anonymous caller is refused (401) before anything is logged: the log records people, and no
    one can flood it without an account. Other failures (bad input) touch no record and are not
    logged.
    """
    ctx: dict[str, Any] = {"patient_id": patient_id, "object_id": object_id, "actor": None, "action": action}
    ctx["actor"] = actor = current_actor()  # NotAuthenticated: refused, not logged

    def log(outcome: str) -> None:
        log_access(
            actor,
            object_type,
            ctx["action"],
            outcome,
            object_id=ctx["object_id"],
            patient_id=ctx["patient_id"],
        )

    try:
        yield ctx
    except _DENIALS:
        log("denied")
        raise
    log("allowed")
