"""Send the e-mail outbox over SMTP (``TELEMED_SMTP_URL``): claimed in batches, retried with backoff.

A sender claims a batch of due messages with one conditional UPDATE (``claimed_by``, a lease until
``claimed_until``), so two workers never send one message; on PostgreSQL the rows another worker is
claiming are skipped, not waited for. It sends the batch over one SMTP connection and marks what
went (``sent_at``) every ``MARK_EVERY`` messages and at the end. A message that fails is released
with a later ``due_at`` (exponential backoff, ``RETRY_BASE`` doubling up to ``RETRY_MAX``); after
``MAX_ATTEMPTS`` tries, or a permanent refusal (5xx), it is marked failed. When the server is down
the whole claim is released for later: nothing is lost. A worker that dies mid-batch leaves its
claim to expire (``LEASE``) and another sends the unmarked rest, so a crash can repeat at most the
messages sent since the last mark.

Without ``TELEMED_SMTP_URL`` nothing is sent: pending messages are marked failed
("no SMTP server"), so they do not pile up or go out stale when one is configured later.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from telemed.auth import invitations
from telemed.auth.models import User
from telemed.db import Database
from telemed.notifications import ics, kinds
from telemed.notifications.models import MailMessage, Notification
from telemed.notifications.service import Reader, reader_of
from telemed.translatable import _l, translations

log = logging.getLogger(__name__)

BATCH = 200
MARK_EVERY = 50
LEASE = timedelta(minutes=5)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 8
SCHEMES = ("smtp", "smtps")
ICS_KINDS = ("booked", "cancelled")

_GREETING = _l("Hello, %(name)s!").msgid
_OPEN = _l("Open in your personal cabinet: %(url)s").msgid
_FOOTER = _l("This message was sent automatically by the telemedicine service; do not reply to it.").msgid


class SmtpUrlError(ValueError):
    """``TELEMED_SMTP_URL`` is not ``smtp[s]://[user:password@]host[:port][?starttls=1]``."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: host, port, implicit TLS (``smtps``) or STARTTLS, optional login."""

    host: str
    port: int
    tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise SmtpUrlError("TELEMED_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        query = parse_qs(parts.query)
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError as exc:
            raise SmtpUrlError(f"TELEMED_SMTP_URL: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "smtps",
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def connect(self) -> smtplib.SMTP:
        if self.tls:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
        if self.username:
            conn.login(self.username, self.password or "")
        return conn


@dataclass(frozen=True)
class MailSettings:
    """What every message shares: the sender, the public address of the service, the defaults."""

    sender: str
    public_url: str
    default: Reader


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try."""
    return min(RETRY_BASE * 2 ** min(max(attempts - 1, 0), 16), RETRY_MAX)


def message_id(notification_id: int, public_url: str) -> str:
    """One Message-ID per notification, the same on every try: a retry that reaches a mailbox
    twice (the server took it, then the connection dropped) is one message to mail clients."""
    return f"<notification-{notification_id}@{urlsplit(public_url).hostname or 'telemed'}>"


class InvitationClosed(Exception):
    """An ``invite`` notification whose invitation is used, expired or gone: nothing to send."""


def build(
    n: Notification,
    user: User,
    to_addr: str,
    settings: MailSettings,
    *,
    now: datetime,
    mint: Callable[[int], str | None] | None = None,
) -> EmailMessage:
    """The e-mail of notification ``n`` to ``user`` in their language: subject = the title; the
    body, a link to the cabinet; an ``.ics`` for bookings and cancellations. An ``invite`` gets
    its one-time link from ``mint`` (a fresh token for the invitation, made now: a retry voids
    the older link); ``InvitationClosed`` when there is none to give."""
    reader = reader_of(user, settings.default)
    gettext = translations(reader.locale).gettext
    params = dict(n.params or {})
    if n.kind == "invite":
        token = mint(int(params.get("invitation_id") or 0)) if mint else None
        if token is None:
            raise InvitationClosed(n.id)
        params["path"] = invitations.PATH + token
        params["username"] = user.username
    if isinstance(params.get("check_url"), str) and params["check_url"].startswith("/"):
        params["check_url"] = settings.public_url + params["check_url"]
    subject = kinds.title(n.kind, params, locale=reader.locale, tz=reader.tz)
    path = str(
        params.get("path") or (f"/consultations/{n.consultation_id}" if n.consultation_id else "/cabinet")
    )
    url = settings.public_url + path
    lines = [gettext(_GREETING) % {"name": user.full_name}, "", subject]
    extra = kinds.body(n.kind, params, locale=reader.locale, tz=reader.tz)
    if extra:
        lines.append(extra)
    lines += ["", gettext(_OPEN) % {"url": url}, "", "--", gettext(_FOOTER)]
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = formataddr((user.full_name, to_addr))
    msg["Subject"] = subject
    msg["Message-ID"] = message_id(n.id, settings.public_url)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(lines))
    if n.kind in ICS_KINDS and params.get("starts_at") and params.get("ends_at") and n.consultation_id:
        calendar = ics.consultation_event(
            {**params, "consultation_id": n.consultation_id},
            summary=kinds.label("booked", reader.locale) if n.kind == "booked" else subject,
            url=url,
            cancelled=n.kind == "cancelled",
            now=now,
        )
        method = "CANCEL" if n.kind == "cancelled" else "PUBLISH"
        msg.add_attachment(
            calendar,
            maintype="text",
            subtype="calendar",
            filename="consultation.ics",
            params={"method": method},
        )
    return msg


def _pending(now: datetime):
    return and_(
        MailMessage.sent_at.is_(None),
        MailMessage.failed_at.is_(None),
        MailMessage.due_at <= now,
        or_(MailMessage.claimed_until.is_(None), MailMessage.claimed_until < now),
    )


def anything_due(session: Session, *, now: datetime) -> bool:
    """Whether a message waits to be sent (a read: an idle worker takes no write lock)."""
    return session.scalar(select(MailMessage.id).where(_pending(now)).limit(1)) is not None


def claim(db: Database, *, now: datetime, limit: int = BATCH) -> tuple[str, list[tuple[int, int, str, int]]]:
    """Claim up to ``limit`` due messages, oldest first; returns the claim's token and
    ``(id, notification_id, to_addr, attempts)`` of each (attempts counts this try)."""
    due = select(MailMessage.id).where(_pending(now)).order_by(MailMessage.id).limit(limit)
    if not db.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    token = secrets.token_hex(16)
    with db.transaction() as s:
        rows = s.execute(
            update(MailMessage)
            .where(MailMessage.id.in_(due.scalar_subquery()), _pending(now))
            .values(claimed_by=token, claimed_until=now + LEASE, attempts=MailMessage.attempts + 1)
            .returning(MailMessage.id, MailMessage.notification_id, MailMessage.to_addr, MailMessage.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    return token, sorted((tuple(r) for r in rows), key=lambda r: r[0])  # type: ignore[misc]


def _mark_sent(db: Database, token: str, ids: list[int], now: datetime) -> None:
    if ids:
        with db.transaction() as s:
            s.execute(
                update(MailMessage)
                .where(MailMessage.id.in_(ids), MailMessage.claimed_by == token)
                .values(sent_at=now, claimed_until=None, last_error=None)
                .execution_options(synchronize_session=False)
            )


def _release(db: Database, token: str, failures: list[tuple[int, int, str, bool]], now: datetime) -> None:
    """Put failed messages back for a later try, or mark them failed (permanent, or out of tries)."""
    if not failures:
        return
    with db.transaction() as s:
        for mail_id, attempts, error, permanent in failures:
            values: dict = {"claimed_by": None, "claimed_until": None, "last_error": error[:500]}
            if permanent or attempts >= MAX_ATTEMPTS:
                values["failed_at"] = now
            else:
                values["due_at"] = now + backoff(attempts)
            s.execute(
                update(MailMessage)
                .where(MailMessage.id == mail_id, MailMessage.claimed_by == token)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def discard_pending(db: Database, *, now: datetime, reason: str = "no SMTP server configured") -> int:
    """Mark every pending message failed (no server to send them); returns how many."""
    with db.transaction() as s:
        result = s.execute(
            update(MailMessage)
            .where(MailMessage.sent_at.is_(None), MailMessage.failed_at.is_(None))
            .values(failed_at=now, last_error=reason)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _minter(db: Database, now: datetime) -> Callable[[int], str | None]:
    def mint(invitation_id: int) -> str | None:
        with db.transaction() as s:
            return invitations.mint(s, invitation_id, now=now)

    return mint


def send_batch(
    db: Database, smtp: SmtpSettings, settings: MailSettings, *, now: datetime, limit: int = BATCH
) -> tuple[int, int]:
    """Claim and send one batch; returns (how many were claimed, how many were sent)."""
    token, claimed = claim(db, now=now, limit=limit)
    if not claimed:
        return 0, 0
    with db.session() as s:
        loaded = s.execute(
            select(Notification, User)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id.in_([r[1] for r in claimed]))
        ).all()
        by_id = {n.id: (n, u) for n, u in loaded}
        s.expunge_all()
    minter = _minter(db, now)
    to_mark: list[int] = []  # sent since the last mark
    done: set[int] = set()  # sent or failed
    failures: list[tuple[int, int, str, bool]] = []
    sent = 0
    conn = None
    try:
        conn = smtp.connect()
        for mail_id, notification_id, to_addr, attempts in claimed:
            pair = by_id.get(notification_id)
            try:
                if pair is None:  # the notification is gone with its user
                    failures.append((mail_id, attempts, "notification deleted", True))
                else:
                    message = build(pair[0], pair[1], to_addr, settings, now=now, mint=minter)
                    conn.send_message(message, to_addrs=[to_addr])
                    to_mark.append(mail_id)
                    sent += 1
            except InvitationClosed:
                failures.append((mail_id, attempts, "invitation used or expired", True))
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()))[0]
                failures.append((mail_id, attempts, f"refused: {code}", 500 <= code < 600))
            except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                error = f"{exc.smtp_code} {exc.smtp_error!r}"
                failures.append((mail_id, attempts, error, 500 <= exc.smtp_code < 600))
            done.add(mail_id)
            if len(to_mark) >= MARK_EVERY:
                _mark_sent(db, token, to_mark, now)
                to_mark = []
    except (OSError, smtplib.SMTPException) as exc:  # the server is down or dropped us: try later
        left = [r for r in claimed if r[0] not in done]
        failures += [(r[0], r[3], f"server: {exc}", False) for r in left]
        log.warning("mail: %d message(s) left for a later try: %s", len(left), exc)
    finally:
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()
    _mark_sent(db, token, to_mark, now)
    _release(db, token, failures, now)
    return len(claimed), sent


def send_due(
    db: Database,
    smtp: SmtpSettings,
    settings: MailSettings,
    *,
    now: datetime,
    budget: float = 5.0,
    limit: int = BATCH,
) -> int:
    """Send due messages batch after batch for at most ``budget`` seconds (the worker's other jobs
    wait meanwhile); returns how many were sent."""
    started, total = time.monotonic(), 0
    while time.monotonic() - started < budget:
        claimed, sent = send_batch(db, smtp, settings, now=now, limit=limit)
        total += sent
        if claimed < limit or sent == 0:
            break
    return total
