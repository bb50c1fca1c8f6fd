"""Account operations with their audit rows (no Flask): each runs the ``auth.logins`` step in its
own write transaction, then appends the audit row (``records.audit``): ``done`` when it happened,
``denied`` when it was refused for a wrong password or a missing right."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from telemed import errors
from telemed.auth import logins, password_policy
from telemed.auth.actor import Actor
from telemed.auth.passwords import Passwords
from telemed.auth.roles import Role
from telemed.auth.service import Credential
from telemed.db import Database
from telemed.members.models import Patient
from telemed.records import audit
from telemed.records.audit_keys import AuditKeys
from telemed.translatable import _l


def _audit(
    db: Database,
    keys: AuditKeys,
    actor: Actor | None,
    object_type: str,
    object_id,
    action: str,
    outcome: str,
    addr,
    now,
) -> None:
    audit.record(
        db,
        keys,
        actor=actor,
        patient_id=None,
        object_type=object_type,
        object_id=object_id,
        action=action,
        outcome=outcome,
        client_addr=addr,
        now=now,
    )


def change_password(
    db: Database,
    keys: AuditKeys,
    passwords: Passwords,
    actor: Actor,
    *,
    current_password: str,
    new_password: str,
    keep: Credential,
    client_addr: str | None,
    now: datetime,
) -> int:
    """``logins.change_password`` for ``actor`` (the user's birth date counts as guessable too);
    every other login of theirs ends. Returns how many ended."""
    try:
        with db.transaction() as s:
            birth_dates = s.scalars(select(Patient.birth_date).where(Patient.user_id == actor.id)).all()
            ended = logins.change_password(
                s,
                passwords,
                actor.id,
                current_password=current_password,
                new_password=new_password,
                personal=[w for d in birth_dates for w in password_policy.personal_words(d)],
                keep=keep,
                now=now,
            )
    except errors.InvalidPassword:
        _audit(db, keys, actor, "account", actor.id, "password_change", "denied", client_addr, now)
        raise
    _audit(db, keys, actor, "account", actor.id, "password_change", "done", client_addr, now)
    return ended


def end_login(
    db: Database, keys: AuditKeys, actor: Actor, login_id: str, *, client_addr: str | None, now: datetime
) -> None:
    """End one of the actor's own live logins (``NotFound`` for any other id)."""
    with db.transaction() as s:
        logins.end_login(s, actor.id, login_id, now=now)
    _audit(db, keys, actor, "login", login_id, "end_session", "done", client_addr, now)


def deactivate(
    db: Database,
    keys: AuditKeys,
    actor: Actor | None,
    user_id: int,
    *,
    client_addr: str | None,
    now: datetime,
) -> None:
    """An admin deactivates an account (``actor`` None: the command line). ``NotPermitted`` for
    anyone else, ``NotFound`` for an unknown user, ``Conflict`` for the admin's own account
    (nobody might be left to undo it; the command line may)."""
    if actor is not None and actor.role != Role.ADMIN:
        _audit(db, keys, actor, "account", user_id, "deactivate", "denied", client_addr, now)
        raise errors.NotPermitted()
    if actor is not None and actor.id == user_id:
        raise errors.Conflict(_l("You cannot deactivate your own account."))
    with db.transaction() as s:
        logins.deactivate_user(s, user_id, now=now)
    if actor is None:
        with db.transaction() as s:
            audit.append(
                s,
                keys,
                actor=None,
                patient_id=None,
                object_type="account",
                object_id=user_id,
                action="deactivate",
                outcome="done",
                client_addr=client_addr,
                now=now,
                system=True,
            )
    else:
        _audit(db, keys, actor, "account", user_id, "deactivate", "done", client_addr, now)
