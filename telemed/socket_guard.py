"""The Socket.IO packet guard: what arrives on a connection is answered before python-socketio
dispatches it when no event handler could answer it (an event over ``sockets.EVENT_MAX``, a packet
that is not valid Socket.IO JSON, binary data). See ``guard_packets``.

It reaches into python-socketio's and Engine.IO's internals (the ``message`` handler, ``_async``,
``_send_packet``): the versions are pinned in the locks.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re

import socketio as python_socketio
from socketio import packet

from telemed import errors
from telemed.sockets import EVENT_MAX, LOCALE_KEY, TRANSPORT_MAX, refusal
from telemed.translatable import _l, translations

log = logging.getLogger(__name__)

BINARY_SKIP_KEY = "telemed.socket_binary_skip"  # binary attachments still to drop (``guard_packets``)

# <type>[<attachments>-][<namespace>,][<ack id>]<JSON>: the head of a Socket.IO packet, as
# python-socketio's ``Packet.decode`` reads it
_PACKET_HEAD = re.compile(
    r"(?P<type>\d)(?:(?P<attachments>\d{1,10})-)?(?:(?P<nsp>/[^,]{0,200}),)?(?P<id>\d{1,100})?"
)
# the start of an event's JSON that names it plainly: ["join", ... (the fast path, decoded once)
_PLAIN_EVENT = re.compile(r'\["([a-z_]{1,32})"[,\]]')


def guard_packets(server: python_socketio.Server) -> None:
    """Answer, before python-socketio dispatches them, the packets no event handler would see.

    * An event whose packet is longer than ``EVENT_MAX`` characters: its ack is
      ``{ok: false, error: {code: "payload_too_large"}}`` and no handler runs. (Over ``TRANSPORT_MAX``
      the transport closes the connection first: the frame is never read whole.)
    * A packet that is not valid Socket.IO JSON, or an event that is not ``[name, data...]`` with the
      name of an event clients send (python-socketio would log an error, stay silent, or even run
      the ``connect`` handler for an event named "connect"): ``bad_request`` when its head carries
      an ack id, else it is dropped.
    * Binary data (no event takes any): a binary event is answered ``bad_request`` and its
      attachments dropped as they arrive, never buffered.

    A ``CONNECT`` over the limit or undecodable is refused like an unauthenticated one, with
    ``{message, data: {code, message}}``.
    """
    dispatch = server.eio.handlers["message"]  # python-socketio's own packet dispatcher

    def on_packet(eio_sid: str, data: str | bytes):
        environ = server.environ.get(eio_sid) or {}
        if isinstance(data, bytes):  # a binary attachment
            if environ.get(BINARY_SKIP_KEY):
                environ[BINARY_SKIP_KEY] -= 1
            else:
                log.info("socket %s: unexpected binary data dropped", eio_sid)
            return None
        head = _PACKET_HEAD.match(data)
        kind = int(head["type"]) if head else None
        if len(data) > EVENT_MAX:
            return _refuse(server, eio_sid, head, errors.PayloadTooLarge(_too_large()))
        if kind in (packet.BINARY_EVENT, packet.BINARY_ACK):
            assert head is not None
            environ[BINARY_SKIP_KEY] = environ.get(BINARY_SKIP_KEY, 0) + int(head["attachments"] or 0)
            return _refuse(
                server, eio_sid, head, errors.BadRequest(_l("Binary data is not accepted; send JSON."))
            )
        if kind not in (packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK):
            return _refuse(server, eio_sid, head, errors.BadRequest())  # no packet a client sends
        if kind == packet.EVENT:
            assert head is not None
            plain = _PLAIN_EVENT.match(data, head.end())
            if not (plain and _client_event(server, head, plain[1])):
                problem = _event_problem(server, head, data)
                if problem is not None:
                    return _refuse(server, eio_sid, head, problem)
        try:
            return dispatch(eio_sid, data)
        except (ValueError, RecursionError):
            if _decodes(server, data):
                raise
            return _refuse(
                server, eio_sid, head, errors.BadRequest(_l("The event is not valid Socket.IO JSON."))
            )

    server.eio.on("message", on_packet)
    websocket = server.eio._async["websocket"]
    if websocket is not None and getattr(websocket, "__name__", "") == "SimpleWebSocketWSGI":
        # threading mode: have simple-websocket stop reading a message at TRANSPORT_MAX (close code
        # 1009) instead of buffering all of it for Engine.IO to measure afterwards
        server.eio._async = {
            **server.eio._async,
            "websocket": functools.partial(_closing_quietly(websocket), max_message_size=TRANSPORT_MAX),
        }


def _closing_quietly(websocket: type) -> type:
    """Engine.IO's WebSocket wrapper whose ``close`` tolerates a socket already closed: when the server
    disconnects a client (``watch_endings``), Engine.IO's writer thread closes the WebSocket after
    sending the last packet, and by then the client's answer may have ended the request and the
    server closed the socket (``OSError: Bad file descriptor`` in that thread otherwise)."""

    class ClosingQuietly(websocket):
        def close(self) -> None:
            with contextlib.suppress(OSError):
                super().close()

    return ClosingQuietly


def _too_large():
    return _l("The event is larger than the limit of %(limit)s KiB.", limit=EVENT_MAX // 1024)


def _client_event(server: python_socketio.Server, head: re.Match, name: object) -> bool:
    """Whether ``name`` is an event clients may send on the packet's namespace."""
    namespace = (head["nsp"] or "/").split("?")[0]
    return (
        isinstance(name, str)
        and name not in server.reserved_events
        and name in server.handlers.get(namespace, {})
    )


def _event_problem(server: python_socketio.Server, head: re.Match, data: str) -> errors.DomainError | None:
    """Why an EVENT packet (not plainly named) cannot be handled, if it cannot."""
    try:
        event = server.packet_class(encoded_packet=data).data
    except (ValueError, RecursionError):
        return errors.BadRequest(_l("The event is not valid Socket.IO JSON."))
    if not isinstance(event, list) or not event:
        return errors.BadRequest(_l("An event is a JSON array: its name, then its data."))
    if not _client_event(server, head, event[0]):
        return errors.BadRequest(_l("There is no such event."))
    return None


def _decodes(server: python_socketio.Server, data: str) -> bool:
    try:
        server.packet_class(encoded_packet=data)
    except (ValueError, RecursionError):
        return False
    return True


def _refuse(
    server: python_socketio.Server, eio_sid: str, head: re.Match | None, exc: errors.DomainError
) -> None:
    """Answer a packet that is not dispatched with ``exc``, when its head says how."""
    kind = int(head["type"]) if head else None
    namespace = (head["nsp"] or "/").split("?")[0] if head else "/"
    environ = server.environ.get(eio_sid) or {}
    locale = environ.get(LOCALE_KEY, "en")
    log.info("socket %s: packet refused (%s)", eio_sid, exc.code)
    if kind == packet.CONNECT:
        message, error = refusal(exc, locale)
        server._send_packet(
            eio_sid,
            server.packet_class(
                packet.CONNECT_ERROR, data={"message": message, "data": error}, namespace=namespace
            ),
        )
        return
    ack_id = head["id"] if head else None
    if kind not in (packet.EVENT, packet.BINARY_EVENT) or ack_id is None:
        return  # nothing asked for an answer
    if server.manager.sid_from_eio_sid(eio_sid, namespace) is None:
        return  # not connected to that namespace: python-socketio would ignore the event too
    ack = {"ok": False, **exc.to_dict(translations(locale).gettext)}
    server._send_packet(
        eio_sid, server.packet_class(packet.ACK, namespace=namespace, data=[ack], id=int(ack_id))
    )
