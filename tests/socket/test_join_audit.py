"""A socket ``join`` reads the chat history: it is audited like the REST history, allowed or denied,
and a refused join shows in the patient's access log."""

from __future__ import annotations

from sqlalchemy import select

from telemed.records.audit_models import AuditEvent


def _chat_reads(db) -> list[tuple]:
    with db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "chat").order_by(AuditEvent.id))
        return [(r.actor_id, r.patient_id, r.object_id, r.action, r.outcome) for r in rows]


def test_a_join_is_audited_allowed_and_denied_with_the_patient(db, connect, world):
    cid, pid = world["consultation"].id, world["patient"].id
    assert connect("drt").call("join", {"consultation_id": cid})["ok"] is True
    refused = connect("boris").call("join", {"consultation_id": cid})
    assert refused["ok"] is False and refused["error"]["code"] == "not_found"
    doctor_user = world["doctor"].user_id
    boris = _boris_id(db)
    assert _chat_reads(db) == [
        (doctor_user, pid, str(cid), "read", "allowed"),
        (boris, pid, str(cid), "read", "denied"),
    ]


def _boris_id(db) -> int:
    from telemed.auth.models import User

    with db.session() as s:
        return s.scalar(select(User.id).where(User.username == "boris"))


def test_a_member_who_withdrew_consent_cannot_join_the_room(app, connect, world):
    from tests.support.clients import ApiClient

    cid = world["consultation"].id
    assert ApiClient(app, "anna").delete("/api/v1/me/consent").status_code == 200
    refused = connect("anna").call("join", {"consultation_id": cid})
    assert refused["ok"] is False and refused["error"]["code"] == "consent_required"
