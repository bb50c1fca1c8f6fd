"""When a consultation's chat may be written (pure).

The chat is open from booking until ``open_hours`` after the consultation ends, then read-only; a
cancelled consultation's chat is read-only. An urgent request's chat is open while it waits
however long that is (the doctor who takes the request reads what was written). Who may read and write it at all: the consultation's
parties (``scheduling.parties``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from telemed import errors
from telemed.scheduling.status import Status
from telemed.translatable import _l


class ChatFacts(Protocol):
    """What the rule reads of a consultation (an ORM ``Consultation`` or a batch row qualifies)."""

    @property
    def status(self) -> str: ...

    @property
    def ends_at(self) -> datetime: ...


def chat_open(c: ChatFacts, now: datetime, open_hours: int) -> bool:
    if c.status == Status.WAITING:
        return True
    return c.status != Status.CANCELLED and now < c.ends_at + timedelta(hours=open_hours)


def require_writable(c: ChatFacts, now: datetime, open_hours: int) -> None:
    if c.status == Status.CANCELLED:
        raise errors.ChatReadOnly(_l("The consultation was cancelled; its chat is read-only."))
    if not chat_open(c, now, open_hours):
        raise errors.ChatReadOnly(
            _l(
                "The chat closed %(open_hours)s hours after the consultation; it is read-only.",
                open_hours=open_hours,
            )
        )
