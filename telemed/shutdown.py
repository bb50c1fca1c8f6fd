"""Stopping a serving process gracefully: what ``telemed serve`` does on SIGTERM.

``shutdown(app)`` runs while the server finishes its in-flight HTTP requests (it stops accepting
new connections itself):

1. the chat writer refuses new messages (``internal_error``: "please send it again");
2. every Socket.IO client's transport is closed without a "close" or "disconnect" packet, so the
   client library sees the connection drop and reconnects (to another process, or this one
   restarted); a server "disconnect" would tell it not to. The app's disconnect handlers run as
   for any dropped client;
3. the messages the writer already held are stored (or refused) before it returns: none is lost
   or half-written (each batch is one transaction);
4. the outbox relay stops; undelivered events stay in the outbox for the other processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    sockets_closed: int
    chat_drained: bool  # False: messages were still held when the timeout ran out


def close_socketio_transports(server) -> int:
    """Drop every Engine.IO connection of this process (python-socketio ``server``); the number
    closed. Clients see a transport error, not a server disconnect, and so reconnect."""
    eio = server.eio
    closed = 0
    for sock in list(eio.sockets.values()):
        try:
            # abort=True: no Engine.IO CLOSE packet, which clients take as a final disconnect
            sock.close(wait=False, abort=True, reason=eio.reason.SERVER_DISCONNECT)
            closed += 1
        except Exception:  # one broken socket must not keep the others open
            log.exception("closing a Socket.IO connection failed")
    return closed


def shutdown(app: Flask, timeout: float = 25.0) -> Outcome:
    """Stop ``app``'s live parts (see the module docstring); waits at most about ``timeout``
    seconds for the chat writer and the relay. Idempotent."""
    from telemed.extensions import socketio

    writer = app.extensions["telemed.chat_writer"]
    writer.close(timeout=0)  # refuse new messages first
    closed = close_socketio_transports(socketio.server)
    drained = writer.close(timeout=timeout)
    if not drained:
        log.error("shutdown: chat messages still unstored after %.0f s", timeout)
    app.extensions["telemed.relay"].stop(timeout=5)
    log.info(
        "shutdown: %d Socket.IO connections closed, chat writer %s", closed, "idle" if drained else "busy"
    )
    return Outcome(closed, drained)
