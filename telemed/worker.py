"""``telemed worker``: a long-running process that runs the timed jobs when they are due.

Jobs (each run every ``interval`` seconds):

* urgent escalation (``urgent.escalation.escalate_due``): requests waiting too long rise a level;
* stale duty (``urgent.service.expire_duty``): the duty of doctors whose sessions have all been
  gone for the grace time is switched off;
* ghost presence (``video.presence.expire``): room presence of connections whose serving process
  stopped refreshing it (it died) is removed, and the rooms hear who is still there;
* outbox pruning (``notify.outbox.prune``): delivered events older than an hour are deleted;
* second opinions (``opinions.service.escalate_overdue``): requests no curator contacted within
  their business day are marked escalated (curators see them first);
* reminders (``scheduling.notices.send_timed``): 24 h and 15 min before a consultation, and "the
  doctor is running late", each once per consultation;
* e-mail (``notifications.mailer.send_due``): the e-mail outbox goes to ``TELEMED_SMTP_URL`` with
  retries and backoff, a few seconds of sending per run (without a server it is dropped);
* slot generation (``admin.schedules.generate_due``): doctors' weekly templates become slots for
  the horizon (28 days) once a template falls a day short of it; several workers at once insert
  each slot once (``INSERT … ON CONFLICT DO NOTHING`` on the unique ``(doctor_id, starts_at)``);
* audit checkpoints (``records.audit_anchor.write_checkpoint``): every
  ``TELEMED_AUDIT_CHECKPOINT_SECONDS`` a signed checkpoint of the audit chain goes to object
  storage (serialized by a database lock; written only when due and the chain grew).

Safe in several copies: every step is claimed in the database by a conditional UPDATE inside its
own transaction (the row must still be in the state the step starts from), so no step runs twice.
What a step must tell people goes to the outbox in its transaction; the serving processes
(``telemed serve``) relay it to their Socket.IO clients within about half a second. ``telemed
demo`` runs these jobs in a thread of its own process (``start_in_thread``).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask

from telemed.admin import schedules
from telemed.db import utcnow
from telemed.notifications import mailer
from telemed.notify import outbox
from telemed.notify.relay import FailureLog
from telemed.opinions import service as opinions
from telemed.records import audit_anchor
from telemed.scheduling import notices
from telemed.urgent import duty, escalation
from telemed.urgent import service as urgent
from telemed.urgent.settings import UrgentSettings
from telemed.video import presence

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between runs
_CHECKPOINT_DUE = "telemed.audit_checkpoint_due"  # app.extensions: when this process tries next


def run_due(app: Flask, *, now: datetime | None = None) -> dict[str, int]:
    """Run every job once, as due at ``now`` (default: the current time); returns what each did."""
    at = now or utcnow()
    db = app.extensions["telemed.db"]
    settings = UrgentSettings.from_config(app.config)
    keys = app.extensions["telemed.audit_keys"]
    steps = escalation.escalate_due(db, keys, now=at, settings=settings)
    with db.session() as s:  # reads first: an idle run takes no write lock (SQLite: BEGIN IMMEDIATE)
        stale = duty.anything_stale(s, now=at, grace=settings.grace)
        ghosts = presence.anything_stale(s, now=at, ttl=presence.ttl_of(app.config))
        old = outbox.prunable(s, now=at)
        overdue = opinions.anything_overdue(s, now=at)
        timed = notices.anything_due(s, now=at)
        mail_due = mailer.anything_due(s, now=at)
        slots_due = schedules.anything_due(s, now=at)
    expired: list[str] = []
    rooms: list[int] = []
    pruned = 0
    if stale:
        with db.transaction() as s:
            expired = urgent.expire_duty(s, now=at, settings=settings)
    if ghosts:
        with db.transaction() as s:
            rooms = presence.expire(s, now=at, ttl=presence.ttl_of(app.config))
    if old:
        with db.transaction() as s:
            pruned = outbox.prune(s, now=at)
    escalated: list[int] = []
    if overdue:
        with db.transaction() as s:
            escalated = opinions.escalate_overdue(s, now=at)
    reminded = 0
    while timed:  # every due reminder now, a batch per transaction
        with db.transaction() as s:
            handled = notices.send_timed(s, now=at)
        reminded += handled
        timed = handled > 0
    slots_created = 0
    while slots_due:  # a batch of templates per transaction
        with db.transaction() as s:
            slots_created += schedules.generate_due(s, now=at)
            slots_due = schedules.anything_due(s, now=at)
    return {
        "escalation_steps": steps,
        "duty_expired": len(expired),
        "presence_expired": len(rooms),
        "outbox_pruned": pruned,
        "opinions_escalated": len(escalated),
        "reminders": reminded,
        "slots_created": slots_created,
        "mail_sent": _send_mail(app, at) if mail_due or reminded else 0,
        "audit_checkpoints": _checkpoint_if_due(app, at),
    }


def _send_mail(app: Flask, now: datetime) -> int:
    """Send the due e-mails (for a few seconds at most); without an SMTP server, drop them."""
    db, smtp = app.extensions["telemed.db"], app.extensions["telemed.smtp"]
    if smtp is None:
        mailer.discard_pending(db, now=now)
        return 0
    return mailer.send_due(db, smtp, app.extensions["telemed.mail"], now=now)


def _checkpoint_if_due(app: Flask, now: datetime) -> int:
    """Write the audit chain's checkpoint when this process has not asked for an interval (the
    storage is asked once an interval, not every run); 1 when one was written."""
    interval = timedelta(seconds=int(app.config["AUDIT_CHECKPOINT_SECONDS"]))
    due = app.extensions.get(_CHECKPOINT_DUE)
    if due is not None and now < due:
        return 0
    written = audit_anchor.write_checkpoint(
        app.extensions["telemed.db"],
        app.extensions["telemed.storage"],
        app.extensions["telemed.audit_keys"],
        now=now,
        interval=interval,
    )  # a failure (storage down) propagates: the next run tries again
    app.extensions[_CHECKPOINT_DUE] = now + interval
    return int(written is not None)


class Worker:
    """Runs ``run_due`` every ``interval`` seconds until ``stop()``; a failed run is logged and the
    next one tries again."""

    def __init__(self, app: Flask, *, interval: float = INTERVAL):
        self.app, self.interval = app, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        failures = FailureLog("worker run", log)
        while not self._stop.is_set():
            try:
                run_due(self.app)
                failures.succeeded()
            except Exception:  # e.g. the database is unreachable, or not migrated (telemed init-db)
                failures.failed()
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def start_in_thread(app: Flask, *, interval: float = INTERVAL) -> Worker:
    """Run the worker's jobs in a daemon thread of this process (the one-command demo)."""
    worker = Worker(app, interval=interval)
    worker._thread = threading.Thread(target=worker.run, name="telemed-worker", daemon=True)
    worker._thread.start()
    return worker
