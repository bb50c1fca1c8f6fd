"""The append-only audit log of the e-card: one row per access, allowed or denied.

Rows are written only by :func:`telemed.records.audit.record`, which links each
row to the previous one with a keyed (HMAC-SHA256) hash chain. The ORM guards below refuse
any UPDATE or DELETE of an ``AuditEvent`` made through a session (unit-of-work
flushes and ORM bulk ``update()``/``delete()`` statements alike), raising
:class:`AppendOnlyViolation`; raw SQL is refused by the database's triggers (migration 0011).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from telemed.db import Base, UTCDateTime

OBJECT_TYPES = frozenset(
    {
        "record",
        "conclusion",
        "attachment",
        "pdf",
        "visit",
        "fhir",
        "access_log",
        "patient_search",
        "urgent_request",
        "chat",  # a consultation's chat history (REST and the socket's join)
        "consultation",  # a consultation's details
        "account",  # a user's account: password change, deactivation (object_id: the user's id)
        "login",  # one login session or token (object_id: its public id, ``auth.logins.login_id``)
        "complaint",  # the curator service's complaints (a consultation's rating and the patient)
        "second_opinion",  # a second medical opinion request
        "referral",  # a member's list of referrals
        "contract",  # an insurance contract, its programme and insured list (admins)
        "doctor",  # the admin area: a doctor's profile or photo (object_id: the doctor's id)
        "schedule",  # a doctor's weekly template, exceptions, slot generation (the doctor's id)
        "roster",  # the urgent duty roster (object_id: a shift's id)
        "staff_user",  # a staff account created or its second factor reset (the user's id)
        "admin_area",  # an admin endpoint or page refused to a non-admin (object_id: the path asked for)
    }
)
ACTIONS = frozenset(
    {
        *("read", "write", "sign", "addendum", "export", "search", "escalate_1", "escalate_2"),
        *("password_change", "end_session", "deactivate"),
        *("oidc_login", "oidc_link"),  # a login through OpenID Connect; an identity linked to a patient
        *("share", "unshare"),  # a need-to-know e-card entry shown to doctors, or hidden again
        "import",  # an insured list applied to a contract
        "reset_2fa",  # an admin deleted a staff user's authenticator (they enrol again)
    }
)
OUTCOMES = frozenset({"allowed", "denied", "done"})  # done: a step the system took (no access decided)
ANONYMOUS = "anonymous"
SYSTEM = "system"  # the actor role of steps the system takes by itself (the worker's)
GENESIS_HASH = "0" * 64


class AppendOnlyViolation(RuntimeError):
    """Raised when application code tries to modify or delete an audit row."""


class AuditEvent(Base):
    """One access to a patient's e-card, or a step the system took (an urgent request's
    escalation). ``id`` order is the chain order."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_patient_id_id", "patient_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: anonymous attempt
    actor_role: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column()  # no FK: denied probes may name unknown ids
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # None: chained before keys (plain SHA-256)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # unique: the chain cannot fork
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def _refuse(*_args) -> None:
    raise AppendOnlyViolation("audit events are append-only")


event.listen(AuditEvent, "before_update", _refuse)
event.listen(AuditEvent, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state) -> None:
    """Refuse ORM-enabled ``update(AuditEvent)`` / ``delete(AuditEvent)`` statements."""
    if (
        (state.is_update or state.is_delete)
        and state.bind_mapper is not None
        and state.bind_mapper.class_ is AuditEvent
    ):
        _refuse()
