"""The pre-call device check: a server-side WebRTC peer that echoes media back.

The browser sends an SDP offer with its camera and microphone tracks; the
server answers, and every incoming track is sent straight back on the same
connection (video as video, audio as audio) through a per-peer
:class:`~aiortc.contrib.media.MediaRelay`. The user sees and hears what the
other side of a consultation would get.

Contract:

- :meth:`MediaCheckService.answer` is synchronous (for a Flask view or socket
  handler) and runs the aiortc work on the shared :class:`AsyncioThread`. It
  returns ``{"sdp", "type": "answer"}`` once ICE gathering is complete (no
  trickle ICE needed).
- Every peer is closed exactly once: when its connection state becomes
  ``failed`` or ``closed``, when it stays ``disconnected`` longer than a grace
  period, when all remote tracks end (the browser hung up), when
  ``time_limit_s`` has passed since the offer, and at :meth:`shutdown` (which is
  registered on the loop thread's shutdown).
- More than ``max_peers`` concurrent checks raise :class:`MediaCheckBusy`
  (HTTP 503); an unusable offer raises :class:`InvalidOffer` (HTTP 422).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay

from telemed.errors import DomainError
from telemed.translatable import _l
from telemed.video.aioloop import AsyncioThread

log = logging.getLogger(__name__)

MAX_SDP_CHARS = 100_000


class MediaCheckBusy(DomainError):
    """Too many device checks run at once (or the service is stopping): retry later."""

    code = "media_check_busy"
    status = 503
    default_message = _l("The device check is busy. Please try again in a minute.")


class InvalidOffer(DomainError, ValueError):
    """The SDP offer is missing, malformed, not an offer, or carries no audio/video."""

    code = "invalid_offer"
    status = 422
    default_message = _l("The connection offer from the browser is not valid.")


def rtc_configuration(ice_servers: list[dict] | None) -> RTCConfiguration:
    """Convert browser-shaped ``[{"urls", "username"?, "credential"?}]`` to aiortc's config.

    An empty list means host candidates only (aiortc would otherwise add a public
    STUN server of its own choosing).
    """
    servers = []
    for entry in ice_servers or []:
        if not isinstance(entry, dict) or not entry.get("urls"):
            raise ValueError(f"ICE server entry needs 'urls': {entry!r}")
        servers.append(
            RTCIceServer(
                urls=entry["urls"],
                username=entry.get("username"),
                credential=entry.get("credential"),
            )
        )
    return RTCConfiguration(iceServers=servers)


@dataclass(eq=False)
class _Peer:
    pc: RTCPeerConnection
    created: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    relay: MediaRelay = field(default_factory=MediaRelay)
    remote_tracks: list[MediaStreamTrack] = field(default_factory=list)
    echo_tracks: list[MediaStreamTrack] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = "time limit"
    grace: asyncio.TimerHandle | None = None
    watchdog: asyncio.Task[None] | None = None
    closing: bool = False


class MediaCheckService:
    """Echo peers for the pre-call check, living on one :class:`AsyncioThread`."""

    def __init__(
        self,
        loop_thread: AsyncioThread,
        *,
        time_limit_s: float = 60.0,
        max_peers: int = 4,
        ice_servers: list[dict] | None = None,
        disconnect_grace_s: float = 5.0,
        answer_timeout_s: float = 20.0,
    ) -> None:
        if max_peers < 1 or time_limit_s <= 0:
            raise ValueError("max_peers must be >= 1 and time_limit_s > 0")
        self._thread = loop_thread
        self._time_limit_s = time_limit_s
        self._max_peers = max_peers
        self._grace_s = disconnect_grace_s
        self._answer_timeout_s = answer_timeout_s
        self._config = rtc_configuration(ice_servers)
        self._peers: dict[str, _Peer] = {}
        self._closed = False
        loop_thread.add_shutdown_callback(self.shutdown)

    # -- public, any thread ----------------------------------------------------

    def answer(self, offer_sdp: str, offer_type: str) -> dict[str, str]:
        """Answer a browser's offer; return ``{"sdp": ..., "type": "answer"}``.

        Raises :class:`InvalidOffer` or :class:`MediaCheckBusy` (also when the loop
        thread is not running or the answer takes longer than ``answer_timeout_s``).
        """
        if offer_type != "offer":
            raise InvalidOffer(_l("The description type must be 'offer'."))
        if not isinstance(offer_sdp, str) or not offer_sdp.startswith("v=0"):
            raise InvalidOffer(_l("The offer is not an SDP session description."))
        if len(offer_sdp) > MAX_SDP_CHARS:
            raise InvalidOffer(_l("The offer is too large."))
        if not self._thread.running:
            raise MediaCheckBusy("The device check is not available right now.")
        try:
            return self._thread.run(self._answer(offer_sdp), timeout=self._answer_timeout_s)
        except TimeoutError as exc:
            raise MediaCheckBusy("The device check did not start in time.") from exc
        except RuntimeError as exc:
            if self._thread.running:
                raise
            raise MediaCheckBusy("The device check is not available right now.") from exc

    def active_count(self) -> int:
        """Number of peers being set up or connected (a snapshot)."""
        return len(self._peers)

    # -- on the loop -----------------------------------------------------------

    async def shutdown(self) -> None:
        """Refuse new checks from now on and close every peer (awaited by the loop thread's stop).

        Peers still gathering ICE are closed too; aioice may then log one failed STUN/TURN retry.
        """
        self._closed = True
        peers = list(self._peers.values())
        await asyncio.gather(*(self._close(p) for p in peers), return_exceptions=True)
        watchdogs = [p.watchdog for p in peers if p.watchdog is not None]
        await asyncio.gather(*watchdogs, return_exceptions=True)

    async def _answer(self, sdp: str) -> dict[str, str]:
        if self._closed:
            raise MediaCheckBusy("The device check is shutting down.")
        if len(self._peers) >= self._max_peers:
            raise MediaCheckBusy()
        loop = asyncio.get_running_loop()
        peer = _Peer(pc=RTCPeerConnection(self._config), created=loop.time())
        self._peers[peer.id] = peer  # reserve the slot before the first await
        setup = asyncio.ensure_future(self._setup(peer, sdp))
        try:
            return await asyncio.shield(setup)
        except asyncio.CancelledError:
            # The caller gave up (answer timeout). Cancelling aioice mid-gathering
            # orphans its STUN/TURN retry timers, so let the setup finish, then close.
            setup.add_done_callback(lambda task: self._abandoned(peer, task))
            raise

    async def _setup(self, peer: _Peer, sdp: str) -> dict[str, str]:
        try:
            self._wire(peer)
            try:
                await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except Exception as exc:
                detail = {"reason": f"{type(exc).__name__}: {exc}"[:200]}
                raise InvalidOffer(_l("The offer could not be applied."), details=detail) from exc
            if not peer.remote_tracks:
                raise InvalidOffer(_l("The offer sends no audio or video to check."))
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())  # gathers ICE
            local = peer.pc.localDescription
            if peer.pc.iceGatheringState != "complete" or local is None:
                raise RuntimeError("ICE gathering did not complete")
            peer.watchdog = asyncio.create_task(self._watch(peer), name=f"media-check-{peer.id}")
            log.info("media check %s started (%d active)", peer.id, len(self._peers))
            return {"sdp": local.sdp, "type": local.type}
        except BaseException:
            peer.reason = "setup failed"
            await self._close(peer)
            raise

    def _abandoned(self, peer: _Peer, setup: asyncio.Future[dict[str, str]]) -> None:
        if not setup.cancelled() and setup.exception() is None:  # also marks it retrieved
            self._request_close(peer, "answer timeout")

    def _wire(self, peer: _Peer) -> None:
        pc = peer.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind not in ("audio", "video"):
                return
            peer.remote_tracks.append(track)
            # Video: latest frame wins (bounded); audio: keep every frame (same pace in and out).
            echo = peer.relay.subscribe(track, buffered=track.kind == "audio")
            peer.echo_tracks.append(echo)
            pc.addTrack(echo)
            track.on("ended", lambda: self._on_track_ended(peer))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self._on_state(peer)

    def _on_track_ended(self, peer: _Peer) -> None:
        if all(t.readyState == "ended" for t in peer.remote_tracks):
            self._request_close(peer, "remote ended")

    def _on_state(self, peer: _Peer) -> None:
        # aiortc 1.16 never reports "disconnected" (a vanished browser shows up as
        # "closed" once ICE consent expires, ~30 s); handled for other versions.
        state = peer.pc.connectionState
        if state in ("failed", "closed"):
            self._request_close(peer, state)
        elif state == "disconnected" and peer.grace is None:
            loop = asyncio.get_running_loop()
            peer.grace = loop.call_later(self._grace_s, self._request_close, peer, "disconnected")
        elif state == "connected" and peer.grace is not None:
            peer.grace.cancel()
            peer.grace = None

    @staticmethod
    def _request_close(peer: _Peer, reason: str) -> None:
        if not peer.done.is_set():
            peer.reason = reason
            peer.done.set()

    async def _watch(self, peer: _Peer) -> None:
        """Wait for a close request or the time limit, then close the peer."""
        remaining = self._time_limit_s - (asyncio.get_running_loop().time() - peer.created)
        try:
            await asyncio.wait_for(peer.done.wait(), max(remaining, 0.0))
        except TimeoutError:
            peer.reason = "time limit"
        finally:
            await self._close(peer)

    async def _close(self, peer: _Peer) -> None:
        """Close ``peer`` (idempotent; concurrent callers wait for the same close)."""
        if peer.closing:
            await asyncio.shield(peer.pc.close())
            return
        peer.closing = True
        if peer.grace is not None:
            peer.grace.cancel()
        try:
            await asyncio.shield(peer.pc.close())
        finally:
            for track in peer.echo_tracks:
                track.stop()
            self._peers.pop(peer.id, None)
            if peer.watchdog is not None and peer.watchdog is not asyncio.current_task():
                peer.watchdog.cancel()
            lifetime = asyncio.get_running_loop().time() - peer.created
            log.info("media check %s closed (%s) after %.1fs", peer.id, peer.reason, lifetime)
