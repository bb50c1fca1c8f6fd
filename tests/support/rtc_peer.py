"""A real aiortc call peer driven through telemed's signaling, for tests and benchmarks.

:class:`RtcPeer` behaves like a browser in a consultation's video room:

1. logs in with ``POST /api/v1/auth/token`` and (unless ICE servers are given) fetches
   ``GET /api/v1/consultations/{id}/ice-servers`` for its ``RTCConfiguration``;
2. connects Socket.IO with the token (a :class:`~tests.support.live.SocketClient`, so every
   ``presence`` and ``signal`` it receives is recorded too) and ``join``\\ s the consultation;
3. **Who offers:** the member offers, once ``presence`` shows another participant in the room
   (the doctor); the doctor answers. ``offerer=`` overrides the role rule.
4. aiortc gathers every candidate before a description is set and writes them into the SDP.
   The peer strips them from the SDP it signals and sends them as separate ``candidate``
   signals (RTCIceCandidateInit parsed from the local SDP's ``a=candidate`` lines), then an
   end-of-candidates ``candidate: null``; so the call only connects if the candidate path works.
   Received candidates are applied with ``addIceCandidate`` (``aiortc.sdp.candidate_from_sdp``),
   kept back until the remote description is set.
5. sends a synthetic video track whose frames spell a tag byte (who sent it) and a frame
   counter in black/white stripes, and decodes what it receives.

Signals are sent one at a time, each after the previous one's ack, so the server relays them in
order. The python-socketio client runs each received event in its own thread, so arrival order
is not guaranteed: candidates are buffered until the remote description is set, and
end-of-candidates is applied after a short grace period.

Threads: the Socket.IO client has its own threads; everything aiortc runs on the given
:class:`~telemed.video.aioloop.AsyncioThread`. The public methods are called from any other thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import functools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
import requests
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from telemed.video.aioloop import AsyncioThread
from tests.support.clients import token_login
from tests.support.factories import PASSWORD
from tests.support.live import SocketClient

log = logging.getLogger(__name__)

STRIPES = 16  # bits 0-7: frame counter % 256, bits 8-15: the sender's tag
MEMBER_TAG, DOCTOR_TAG = 0x3C, 0xC3
END_OF_CANDIDATES_GRACE_S = 0.3


# -- synthetic video -----------------------------------------------------------------------------


def counter_frame(tag: int, n: int, width: int, height: int) -> av.VideoFrame:
    """A yuv420p frame whose 16 horizontal stripes spell ``n % 256`` then ``tag`` (bit 0 on top)."""
    value = (n & 0xFF) | ((tag & 0xFF) << 8)
    frame = av.VideoFrame(width, height, "yuv420p")
    luma = frame.planes[0]
    rows = height // STRIPES
    stripes = b"".join(
        bytes([235 if (value >> bit) & 1 else 16]) * (luma.line_size * rows) for bit in range(STRIPES)
    )
    luma.update(stripes + bytes([16]) * (luma.buffer_size - len(stripes)))
    for chroma in frame.planes[1:]:
        chroma.update(bytes([128]) * chroma.buffer_size)
    return frame


def read_counter(frame: av.VideoFrame) -> tuple[int, int] | None:
    """``(tag, n % 256)`` from a :func:`counter_frame`, or None when a stripe is not clearly black/white."""
    luma = frame.planes[0]
    data, stride = bytes(luma), luma.line_size
    rows, value = frame.height // STRIPES, 0
    for bit in range(STRIPES):
        start = (bit * rows + rows // 2) * stride
        sample = data[start + frame.width // 4 : start + 3 * frame.width // 4]
        mean = sum(sample) / len(sample)
        if mean > 170:
            value |= 1 << bit
        elif mean > 80:
            return None
    return value >> 8, value & 0xFF


class CounterVideoTrack(MediaStreamTrack):
    """Frames from :func:`counter_frame` at ``fps``; ``sent`` counts them."""

    kind = "video"

    def __init__(self, tag: int, width: int = 320, height: int = 256, fps: float = 30) -> None:
        super().__init__()
        self.tag, self.size, self.fps = tag, (width, height), fps
        self.sent, self._start = 0, 0.0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.sent == 0:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self.sent / self.fps - time.monotonic()))
        frame = counter_frame(self.tag, self.sent, *self.size)
        frame.pts, frame.time_base = int(self.sent * 90000 / self.fps), fractions.Fraction(1, 90000)
        self.sent += 1
        return frame


# -- SDP helpers ---------------------------------------------------------------------------------


def sdp_candidates(sdp: str) -> list[dict]:
    """RTCIceCandidateInit dicts for the ``a=candidate`` lines of each m-section."""
    out: list[dict] = []
    index, mid, pending = -1, None, []

    def flush() -> None:
        out.extend({"candidate": c, "sdpMid": mid, "sdpMLineIndex": index} for c in pending)

    for line in sdp.splitlines():
        if line.startswith("m="):
            flush()
            index, mid, pending = index + 1, None, []
        elif index >= 0 and line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        elif index >= 0 and line.startswith("a=candidate:"):
            pending.append(line[len("a=") :])
    flush()
    return out


def strip_candidates(sdp: str) -> str:
    """The SDP without its ``a=candidate`` and ``a=end-of-candidates`` lines (they go as signals)."""
    lines = [
        line for line in sdp.split("\r\n") if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    ]
    return "\r\n".join(lines)


def candidate_type(init: dict) -> str | None:
    bits = init["candidate"].split()
    return bits[bits.index("typ") + 1] if "typ" in bits else None


def ice_servers_from_json(servers: list[dict]) -> list[RTCIceServer]:
    return [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in servers
    ]


@contextlib.contextmanager
def logged_warnings() -> Iterator[list[logging.LogRecord]]:
    """Collect WARNING+ records logged from any thread (``-W error`` cannot see those).

    Left out: Werkzeug's "code 400, message Bad request syntax" for the bytes a Socket.IO client
    sends on a WebSocket the server has already finished with (the disconnect packet and the
    close frame): the dev server then parses them as a new HTTP request.
    """
    records: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> None:
        if record.name == "werkzeug" and "code 400, message Bad" in record.getMessage():
            return
        records.append(record)

    handler = logging.Handler(logging.WARNING)
    handler.emit = keep  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)


def api_token(base_url: str, username: str, password: str = PASSWORD) -> str:
    """A bearer token from ``POST /api/v1/auth/token``."""
    with requests.Session() as http:
        r = http.post(
            f"{base_url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30
        )
        r.raise_for_status()
        return r.json()["token"]


# -- the peer ------------------------------------------------------------------------------------


class _PeerSocket(SocketClient):
    """A :class:`SocketClient` that also hands every recorded event to ``listener(name, data)``."""

    def __init__(self, url: str, *, token: str, listener) -> None:
        self._listener = listener
        super().__init__(url, token=token)

    def _recorder(self, name):
        record = super()._recorder(name)

        def both(data):
            record(data)
            self._listener(name, data)

        return both


@dataclass
class SignalLog:
    sent: list[dict] = field(default_factory=list)  # what this peer signaled, with the ack
    applied_candidates: int = 0  # remote candidates passed to addIceCandidate
    end_of_candidates: bool = False


class RtcPeer:
    """One side of a call; see the module docstring.

    ``ice_servers``: a list of ``RTCIceServer``-like dicts, or None to ask the ice-servers
    endpoint. ``relay_only``: ``RTCIceTransportPolicy.RELAY`` (aioice gathers relay candidates
    only) and remote non-relay candidates are dropped too.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        consultation_id: int,
        loop: AsyncioThread,
        *,
        password: str = PASSWORD,
        ice_servers: list[dict] | None = None,
        relay_only: bool = False,
        offerer: bool | None = None,
        tag: int | None = None,
        size: tuple[int, int] = (320, 256),
        fps: float = 30,
        http: requests.Session | None = None,
    ) -> None:
        self.base_url, self.username, self.password = base_url.rstrip("/"), username, password
        self.consultation_id, self.loop = consultation_id, loop
        self.relay_only, self._offerer, self._tag = relay_only, offerer, tag
        self.size, self.fps = size, fps
        self._own_http = http is None
        self.http = http or requests.Session()
        self.ice_servers_json = ice_servers
        self.token: str | None = None
        self.user: dict = {}
        self.sock: _PeerSocket | None = None
        self.pc: RTCPeerConnection | None = None
        self.video: CounterVideoTrack | None = None
        self.log = SignalLog()
        self.received: list[tuple[int, int] | None] = []  # (tag, counter) of each received frame
        self.errors: list[BaseException] = []
        self.states: list[str] = []
        self.joined_at: float | None = None
        self.connected_at: float | None = None
        self.remote_sdp: str | None = None
        self._connected = threading.Event()
        self._inbox: asyncio.Queue | None = None
        self._tasks: list[asyncio.Future] = []
        self._pending: list[dict] = []
        self._offered = False
        self._closed = False

    # -- properties --------------------------------------------------------------------------------

    @property
    def role(self) -> str:
        return self.user["role"]

    @property
    def is_offerer(self) -> bool:
        return self._offerer if self._offerer is not None else self.role == "member"

    @property
    def tag(self) -> int:
        if self._tag is not None:
            return self._tag
        return MEMBER_TAG if self.role == "member" else DOCTOR_TAG

    @property
    def state(self) -> str:
        return self.pc.connectionState if self.pc else "new"

    @property
    def frames(self) -> int:
        return len(self.received)

    def decoded(self) -> list[tuple[int, int]]:
        return [r for r in self.received if r is not None]

    # -- set-up ------------------------------------------------------------------------------------

    def login(self) -> RtcPeer:
        """Log in for a bearer token (staff: with the next authenticator code)."""
        r = token_login(
            lambda path, body: self.http.post(f"{self.base_url}{path}", json=body, timeout=30),
            self.username,
            self.password,
        )
        r.raise_for_status()
        body = r.json()
        self.token, self.user = body["token"], body["user"]
        return self

    def fetch_ice_servers(self) -> dict:
        r = self.http.get(
            f"{self.base_url}/api/v1/consultations/{self.consultation_id}/ice-servers",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()

    def configuration(self) -> RTCConfiguration:
        if self.ice_servers_json is None:
            self.ice_servers_json = self.fetch_ice_servers()["iceServers"]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        # an explicit list, even empty: None would make aiortc use a public STUN server
        return RTCConfiguration(
            iceServers=ice_servers_from_json(self.ice_servers_json), iceTransportPolicy=policy
        )

    def start(self) -> RtcPeer:
        """Log in (if needed), create the peer connection, connect Socket.IO. Does not join yet."""
        if self.token is None:
            self.login()
        config = self.configuration()
        self.loop.run(self._create(config), timeout=10)
        self.loop.add_shutdown_callback(self.aclose)
        self.sock = _PeerSocket(self.base_url, token=self.token, listener=self._on_event).connect()
        return self

    def join(self) -> dict:
        ack = self.sock.call("join", {"consultation_id": self.consultation_id})
        if not ack.get("ok"):
            raise RuntimeError(f"{self.username}: join refused: {ack}")
        self.joined_at = time.perf_counter()
        return ack

    def wait_connected(self, timeout: float = 15) -> bool:
        return self._connected.wait(timeout)

    def wait_frames(self, n: int, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while self.frames < n:
            if time.monotonic() > deadline or self.errors:
                return False
            time.sleep(0.02)
        return True

    def selected_pair(self) -> tuple[str, str] | None:
        """``(local type, remote type)`` of the nominated ICE pair, e.g. ``("relay", "relay")``.

        aiortc's ``getStats()`` has no candidate-pair stats, so this reads aioice's nominated pair.
        """
        return self.loop.run(self._selected_pair(), timeout=5)

    async def _selected_pair(self) -> tuple[str, str] | None:
        for transceiver in self.pc.getTransceivers():
            connection = transceiver.sender.transport.transport._connection  # RTCIceTransport -> aioice
            pair = connection._nominated.get(1)
            if pair is not None:
                return pair.local_candidate.type, pair.remote_candidate.type
        return None

    def local_candidate_types(self) -> list[str]:
        return [
            candidate_type(s["candidate"])
            for s in self.log.sent
            if s["type"] == "candidate" and s["candidate"]
        ]

    def close(self) -> None:
        """Say ``bye`` (when still joined), disconnect Socket.IO, close the peer connection."""
        if self._closed:
            return
        self._closed = True
        if self._own_http:
            self.http.close()
        if self.sock is not None:
            if self.sock.sio.connected and self.joined_at is not None:
                with contextlib.suppress(Exception):  # best effort on the way out
                    self.sock.call(
                        "signal", {"consultation_id": self.consultation_id, "type": "bye"}, timeout=5
                    )
            self.sock.close()
        if self.loop.running:
            self.loop.run(self.aclose(), timeout=15)
            self.loop.remove_shutdown_callback(self.aclose)

    # -- on the loop -------------------------------------------------------------------------------

    async def _create(self, config: RTCConfiguration) -> None:
        self._inbox = asyncio.Queue()
        self.pc = RTCPeerConnection(config)
        self.video = CounterVideoTrack(self.tag, *self.size, fps=self.fps)
        self.pc.addTrack(self.video)
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._consume(track))))
        self.pc.on("connectionstatechange", self._on_state)
        self._tasks.append(asyncio.ensure_future(self._pump()))

    def _on_state(self) -> None:
        state = self.pc.connectionState
        self.states.append(state)
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.perf_counter()
            self._connected.set()

    async def aclose(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.received.append(read_counter(frame))

    def _on_event(self, name: str, data) -> None:
        """Socket.IO thread: hand ``presence`` and ``signal`` over to the loop."""
        if name not in ("presence", "signal") or not isinstance(data, dict):
            return
        if data.get("consultation_id") != self.consultation_id or self._inbox is None:
            return
        try:
            self.loop.loop.call_soon_threadsafe(self._inbox.put_nowait, (name, data))
        except RuntimeError:  # the loop is stopping: the call is over
            pass

    async def _pump(self) -> None:
        while True:
            name, data = await self._inbox.get()
            try:
                if name == "presence":
                    await self._on_presence(data)
                elif data.get("from", {}).get("id") != self.user["id"]:
                    await self._on_signal(data)
            except Exception as exc:  # recorded, and logged so that tests fail loudly
                self.errors.append(exc)
                log.exception("%s: handling %s failed", self.username, name)

    async def _on_presence(self, data: dict) -> None:
        others = [p for p in data["participants"] if p["id"] != self.user["id"]]
        if self.is_offerer and others and not self._offered and self.pc.signalingState == "stable":
            self._offered = True
            await self.pc.setLocalDescription(await self.pc.createOffer())
            await self._send_description()

    async def _on_signal(self, data: dict) -> None:
        kind = data["type"]
        if kind in ("offer", "answer"):
            self.remote_sdp = data["sdp"]
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type=kind))
            if kind == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self._send_description()
            pending, self._pending = self._pending, []
            for init in pending:
                await self._add_candidate(init)
        elif kind == "candidate":
            if self.pc.remoteDescription is None:
                self._pending.append(data["candidate"])
            else:
                await self._add_candidate(data["candidate"])
        elif kind == "bye":
            await self.pc.close()

    async def _add_candidate(self, init: dict | None) -> None:
        if init is None or not init.get("candidate"):
            if not self.log.end_of_candidates:
                self.log.end_of_candidates = True
                self._tasks.append(asyncio.ensure_future(self._end_of_candidates()))
            return
        if self.relay_only and candidate_type(init) != "relay":
            return
        candidate = candidate_from_sdp(init["candidate"].split(":", 1)[1])
        candidate.sdpMid, candidate.sdpMLineIndex = init.get("sdpMid"), init.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)
        self.log.applied_candidates += 1

    async def _end_of_candidates(self) -> None:
        await asyncio.sleep(
            END_OF_CANDIDATES_GRACE_S
        )  # candidates relayed before it may still be on their way
        if self.pc.connectionState != "closed":
            await self.pc.addIceCandidate(None)

    async def _send_description(self) -> None:
        local = self.pc.localDescription
        await self._signal({"type": local.type, "sdp": strip_candidates(local.sdp)})
        for init in sdp_candidates(local.sdp):
            await self._signal({"type": "candidate", "candidate": init})
        await self._signal({"type": "candidate", "candidate": None})

    async def _signal(self, payload: dict) -> dict:
        message = {"consultation_id": self.consultation_id, **payload}
        call = functools.partial(self.sock.call, "signal", message, timeout=10)
        ack = await asyncio.get_running_loop().run_in_executor(None, call)
        self.log.sent.append({**payload, "ack": ack})
        if not ack.get("ok"):
            raise RuntimeError(f"{self.username}: signal {payload['type']} refused: {ack}")
        return ack
