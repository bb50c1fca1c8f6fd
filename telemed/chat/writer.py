"""Group commit for chat messages: many senders, one writer thread, one transaction per batch.

Socket handlers hand each message to the app's ``MessageWriter`` and wait for its outcome. The
writer takes every message waiting (at most ``max_batch``), re-validates the senders' credentials,
checks their access and stores the batch in one transaction (``chat.service.store_messages``).
Only after the commit does it broadcast each stored message to its room, in id order, and answer
the senders. Under load N transactions become one; a lone message goes through at once.

If a batch's transaction fails, its messages are retried one by one, so one bad message cannot
sink the others; a message that still fails is answered with an error, and nothing of it was
stored or sent. The thread starts on demand and ends after ``idle_seconds`` without work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from telemed import errors
from telemed.auth import service as auth
from telemed.auth.actor import Actor
from telemed.chat import service as chat
from telemed.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One message to store: who sends it (a credential to re-validate, or an actor already
    authenticated by the caller), where, and the fields as received."""

    sender: auth.Credential | Actor
    consultation_id: int
    text: object
    attachment_ids: object = None
    outcome: Future = field(default_factory=Future, compare=False)


class MessageWriter:
    """Stores chat messages in batches on one thread; see the module docstring."""

    def __init__(self, db: Database, *, broadcast: Callable[[dict], None], clock: Callable[[], datetime],
                 open_hours: Callable[[], int], max_batch: int = 500, idle_seconds: float = 5.0):
        self.db, self.broadcast, self.clock, self.open_hours = db, broadcast, clock, open_hours
        self.max_batch, self.idle_seconds = max_batch, idle_seconds
        self._pending: list[Outgoing] = []
        self._wake = threading.Condition()
        self._running = False

    def submit(self, item: Outgoing) -> Future:
        """Queue a message; the future gives its wire payload or the ``DomainError`` refusing it."""
        with self._wake:
            self._pending.append(item)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="chat-writer", daemon=True).start()
            self._wake.notify()
        return item.outcome

    def send(self, item: Outgoing, timeout: float = 30.0) -> dict:
        """Submit and wait: the stored message's payload, or raise its refusal."""
        result = self.submit(item).result(timeout)
        if isinstance(result, errors.DomainError):
            raise result
        return result

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._pending:
                    self._wake.wait(self.idle_seconds)
                if not self._pending:
                    self._running = False
                    return
                batch = self._pending[:self.max_batch]
                del self._pending[:self.max_batch]
            try:
                self._process(batch)
            except BaseException as exc:  # never leave a sender waiting
                log.exception("chat writer batch failed")
                for item in batch:
                    if not item.outcome.done():
                        item.outcome.set_exception(exc)

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
        for result in results:
            if isinstance(result, dict):
                try:
                    self.broadcast(result)
                except Exception:  # stored: the room catches up through history
                    log.exception("broadcasting chat message %s failed", result.get("id"))
        for item, result in zip(batch, results, strict=True):
            item.outcome.set_result(result)

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
            for k, result in zip(slots, chat.store_messages(s, drafts, now=now, open_hours=self.open_hours())):
                results[k] = result
        return results
