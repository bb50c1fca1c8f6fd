"""Group commit for chat messages: many senders, one transaction per batch.

Socket handlers hand each message to the app's ``MessageWriter`` and wait for its outcome. The
messages waiting are stored together (at most ``max_batch``): the senders' credentials are
re-validated, their access checked and the batch inserted in one transaction
(``chat.service.store_messages``). Only after the commit is each stored message broadcast to its
room, in id order, and its sender answered. Under load N transactions become one; a lone message
goes through at once.

The batches are run by the senders' own threads ("flat combining"): the first sender to find no
batch running leads, stores what is waiting, and when its own message is answered hands the lead
to the sender of the oldest message still waiting. No thread is woken just to write, and none is
left behind when the app stops.

If a batch's transaction fails, its messages are retried one by one, so one bad message cannot
sink the others; a message that still fails is answered with an error, and nothing of it was
stored or sent.

``close()`` (a serving process stopping) refuses messages from then on and waits until those
already handed over are stored or refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from blinker import Namespace

from telemed import errors
from telemed.auth import service as auth
from telemed.auth.actor import Actor
from telemed.chat import service as chat
from telemed.db import Database
from telemed.translatable import _l

log = logging.getLogger(__name__)

#: Sent with the writer as sender and ``count`` after a batch's commit stored ``count`` messages
#: (``count`` > 0), in the storing thread, without a Flask context. Receivers must not raise.
messages_stored = Namespace().signal("chat-messages-stored")


@dataclass(eq=False)
class Outgoing:
    """One message to store: who sends it (a credential to re-validate, or an actor already
    authenticated by the caller), where, and the fields as received."""

    sender: auth.Credential | Actor
    consultation_id: int
    text: object
    attachment_ids: object = None
    outcome: Future = field(default_factory=Future)
    turn: threading.Event = field(default_factory=threading.Event)  # answered, or handed the lead
    leads: bool = False


class MessageWriter:
    """Stores chat messages in batches run by the senders' threads; see the module docstring."""

    def __init__(
        self,
        db: Database,
        *,
        broadcast: Callable[[list[dict]], None],
        clock: Callable[[], datetime],
        open_hours: Callable[[], int],
        consent_version: Callable[[], str | None] = lambda: None,
        max_batch: int = 500,
    ):
        self.db, self.broadcast, self.clock, self.open_hours = db, broadcast, clock, open_hours
        self.consent_version = consent_version
        self.max_batch = max_batch
        self._pending: list[Outgoing] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when no batch runs
        self._leading = False
        self._closed = False

    def send(self, item: Outgoing, timeout: float = 30.0) -> dict:
        """Store one message and wait: its wire payload, or raise its refusal.

        Raises ``InternalError`` if the message was still waiting after ``timeout`` seconds (then
        it is withdrawn, never stored), or at once, storing nothing, once the writer is closed.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                raise errors.InternalError(_l("The server is restarting; please send the message again."))
            self._pending.append(item)
            if not self._leading:
                self._leading = item.leads = True
        while not item.outcome.done():
            if item.leads:
                self._lead(item)
                continue
            if not item.turn.wait(max(0.0, deadline - time.monotonic())):
                with self._lock:
                    if item in self._pending and not item.leads:
                        self._pending.remove(item)
                        raise errors.InternalError(
                            _l("The message could not be stored in time; please resend it.")
                        )
                deadline = time.monotonic() + timeout  # in a batch being stored now: its answer comes
        result = item.outcome.result()
        if isinstance(result, errors.DomainError):
            raise result
        return result

    def _lead(self, me: Outgoing) -> None:
        """Run batches until ``me`` is answered, then hand the lead on (or give it up)."""
        try:
            while not me.outcome.done():
                with self._lock:
                    batch = self._pending[: self.max_batch]
                    del self._pending[: self.max_batch]
                self._run(batch)
        finally:
            with self._lock:
                me.leads = False
                if self._pending:
                    successor = self._pending[0]
                    successor.leads = True
                    successor.turn.set()
                else:
                    self._leading = False
                    self._idle.notify_all()

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new messages from now on (``send`` raises ``InternalError``) and wait up to
        ``timeout`` seconds for the messages already handed over to be stored or refused.

        True when none is left. Idempotent; a closed writer stays closed.
        """
        with self._lock:
            self._closed = True
            return self._idle.wait_for(lambda: not self._leading, timeout)

    def _run(self, batch: list[Outgoing]) -> None:
        try:
            self._process(batch)
        except BaseException as exc:  # never leave a sender waiting
            log.exception("chat message batch failed")
            for item in batch:
                if not item.outcome.done():
                    item.outcome.set_exception(exc)
                    item.turn.set()
            if not isinstance(exc, Exception):
                raise

    def _process(self, batch: list[Outgoing]) -> None:
        try:
            results = self._store(batch)
        except Exception:
            if len(batch) == 1:
                log.exception("storing a chat message failed")
                results = [errors.InternalError()]
            else:
                log.warning("a batch of %d chat messages failed; retrying them one by one", len(batch))
                results = [self._store_alone(item) for item in batch]
        self._announce(sum(isinstance(result, dict) for result in results))
        stored = [result for result in results if isinstance(result, dict)]
        if stored:
            try:
                self.broadcast(stored)
            except Exception:  # stored: the rooms catch up through history
                log.exception("broadcasting %d chat messages failed", len(stored))
        for item, result in zip(batch, results, strict=True):
            item.outcome.set_result(result)
            item.turn.set()

    def _announce(self, count: int) -> None:
        if count:
            try:
                messages_stored.send(self, count=count)
            except Exception:  # stored all the same: the senders get their answers
                log.exception("a receiver of messages_stored failed")

    def _store_alone(self, item: Outgoing) -> dict | errors.DomainError:
        try:
            return self._store([item])[0]
        except Exception:
            log.exception("storing a chat message failed")
            return errors.InternalError()

    def _store(self, batch: list[Outgoing]) -> list[dict | errors.DomainError]:
        now = self.clock()
        with self.db.transaction() as s:
            credentials = [i.sender for i in batch if isinstance(i.sender, auth.Credential)]
            actors = auth.actors_for(s, credentials, now=now) if credentials else {}
            results: list[dict | errors.DomainError] = []
            drafts, slots = [], []
            for k, item in enumerate(batch):
                actor = item.sender if isinstance(item.sender, Actor) else actors.get(item.sender)
                results.append(errors.NotAuthenticated())
                if actor is not None:
                    drafts.append(chat.Draft(actor, item.consultation_id, item.text, item.attachment_ids))
                    slots.append(k)
            for k, result in zip(
                slots,
                chat.store_messages(
                    s, drafts, now=now, open_hours=self.open_hours(), consent_version=self.consent_version()
                ),
                strict=True,
            ):
                results[k] = result
        return results
