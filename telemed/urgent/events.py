"""The urgent queue's glue to the app: Socket.IO connections of doctors keep their duty alive,
status changes made by scheduling reach the queue, ``join`` tells a waiting member their place.

Nothing here is a client event: the queue's Socket.IO events are sent by the server only
(``urgent_queue`` to doctors' user rooms, ``urgent_status`` to consultation rooms; see
``urgent.notices``). ``init_app`` wires one app; the receivers below are connected at import.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, request

from telemed.auth.actor import Actor
from telemed.scheduling import signals
from telemed.scheduling.models import Consultation, Mode
from telemed.sockets import connected, disconnected, process_id
from telemed.urgent import duty, notices, queue, service
from telemed.urgent.settings import UrgentSettings
from telemed.video.events import JOIN_EXTRAS
from telemed.web import database, now

log = logging.getLogger(__name__)
DUTY_KEY = "telemed.duty_connection"  # in a connection's WSGI environ: it keeps a doctor's duty alive


def settings() -> UrgentSettings:
    return UrgentSettings.from_config(current_app.config)


def init_app(app: Flask) -> None:
    """Give the app the ``queue`` field of ``join``, the expansion of the queue's
    fan-out events, and the duty heartbeat task of its relay (run while the relay runs)."""
    app.extensions.setdefault(JOIN_EXTRAS, {})["queue"] = _queue_on_join
    relay = app.extensions["telemed.relay"]
    relay.fan_out(
        notices.QUEUE_MOVED,
        lambda session, payload, at: notices.places(
            session, payload["specialty"], now=at, settings=UrgentSettings.from_config(app.config)
        ),
    )
    cfg = UrgentSettings.from_config(app.config)
    relay.every(cfg.heartbeat_seconds, lambda: heartbeat(app))


def heartbeat(app: Flask) -> int:
    """Refresh this process's doctors' connections (so they keep counting for their duty)."""
    db = app.extensions["telemed.db"]
    with db.transaction() as s:
        return duty.heartbeat(s, process_id=process_id(app), now=now())


def _queue_on_join(session, actor: Actor, c: Consultation, at) -> dict:
    state = queue.state_of(session, c, now=at, settings=settings())
    return {} if state is None else {"queue": state.as_dict()}


@connected.connect
def _on_connect(actor: Actor, sid: str, **_kw) -> None:
    """A therapist's or pediatrician's session opened: it keeps their duty alive."""
    if not actor.is_doctor:
        return
    try:
        with database().transaction() as s:
            if duty.connect(s, actor.id, sid, process_id=process_id(), now=now()):
                request.environ[DUTY_KEY] = True
    except Exception:
        log.exception("recording a doctor's connection failed")


@disconnected.connect
def _on_disconnect(sid: str, **_kw) -> None:
    """A session closed or dropped: the doctor's grace time starts (their duty ends after it unless
    another session of theirs is connected)."""
    if not request.environ.get(DUTY_KEY):
        return
    try:
        with database().transaction() as s:
            duty.disconnect(s, sid, now=now())
    except Exception:
        log.exception("forgetting a doctor's connection failed")


@signals.status_changed.connect
def _on_status_changed(c: Consultation, *, session, previous: str, now, **_kw) -> None:
    """An urgent consultation's status changed in scheduling (needs the app's context)."""
    if c.mode == Mode.URGENT:
        service.after_status_change(session, c, previous, now=now, settings=settings())
