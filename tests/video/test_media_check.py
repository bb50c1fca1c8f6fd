"""AsyncioThread, and the pre-call check peer driven by a real aiortc client over loopback.

Client and service run on two loop threads. The client's video frames spell their
frame number in eight black/white stripes, so echoed frames can be told apart from
anything the server could make up; the audio is a 400 Hz tone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import socket
import threading
import time
from array import array
from collections.abc import Callable, Iterator

import av
import pytest
from aioice import stun
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from telemed.video.aioloop import AsyncioThread
from telemed.video.media_check import InvalidOffer, MediaCheckBusy, MediaCheckService

STRIPES = 8
TONE = array("h", (int(8000 * math.sin(2 * math.pi * 400 * i / 8000)) for i in range(160))).tobytes()


def counter_frame(n: int, width: int, height: int) -> av.VideoFrame:
    """A yuv420p frame whose horizontal stripes spell ``n % 256`` in binary (bit 0 on top)."""
    frame = av.VideoFrame(width, height, "yuv420p")
    luma = frame.planes[0]
    stripe = luma.line_size * (height // STRIPES)
    luma.update(b"".join(bytes([235 if (n >> bit) & 1 else 16]) * stripe for bit in range(STRIPES)))
    for chroma in frame.planes[1:]:
        chroma.update(bytes([128]) * chroma.buffer_size)
    return frame


def read_counter(frame: av.VideoFrame) -> int | None:
    """Decode :func:`counter_frame`'s number, or None when a stripe is not clearly black or white."""
    luma = frame.planes[0]
    data, stride = bytes(luma), luma.line_size
    stripe_h, n = frame.height // STRIPES, 0
    for bit in range(STRIPES):
        start = (bit * stripe_h + stripe_h // 2) * stride
        sample = data[start + frame.width // 4 : start + 3 * frame.width // 4]
        mean = sum(sample) / len(sample)
        if mean > 170:
            n |= 1 << bit
        elif mean > 80:
            return None
    return n


def rms(frame: av.AudioFrame) -> float:
    samples = array("h", bytes(frame.planes[0])[: frame.samples * len(frame.layout.channels) * 2])
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


class CounterVideoTrack(VideoStreamTrack):
    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.size, self.sent = (width, height), 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = counter_frame(self.sent, *self.size)
        frame.pts, frame.time_base = pts, time_base
        self.sent += 1
        return frame


class ToneAudioTrack(AudioStreamTrack):
    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        frame.planes[0].update(TONE)
        return frame


class EchoClient:
    """A browser stand-in; its coroutines run on the client loop thread."""

    def __init__(self, size: tuple[int, int] = (320, 240), audio: bool = True) -> None:
        self.video = CounterVideoTrack(*size)
        self.audio = ToneAudioTrack() if audio else None
        self.pc: RTCPeerConnection | None = None
        self.counters: list[int | None] = []
        self.sizes: set[tuple[int, int]] = set()
        self.audio_rms: list[float] = []
        self._consumers: list[asyncio.Task[None]] = []

    @property
    def state(self) -> str:
        return self.pc.connectionState if self.pc else "new"

    async def offer(self) -> tuple[str, str]:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", lambda track: self._consumers.append(asyncio.ensure_future(self._consume(track))))
        self.pc.addTrack(self.video)
        if self.audio:
            self.pc.addTrack(self.audio)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp, self.pc.localDescription.type

    async def accept(self, answer: dict) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))

    async def close(self) -> None:
        if self.pc:
            await self.pc.close()
        await asyncio.gather(*self._consumers, return_exceptions=True)

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                self.sizes.add((frame.width, frame.height))
                self.counters.append(read_counter(frame))
            else:
                self.audio_rms.append(rms(frame))


# -- fixtures and helpers ------------------------------------------------------


@pytest.fixture(autouse=True)
def no_logged_warnings() -> Iterator[None]:
    """Fail on warnings/errors logged from any thread (e.g. "Task exception was never retrieved").

    ``-W error`` cannot catch those: they happen inside the loop threads.
    """
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    yield  # set up before, and torn down after, the loop fixtures
    root.removeHandler(handler)
    assert not records, [logging.Formatter().format(r) for r in records]


@pytest.fixture
def client_loop() -> Iterator[AsyncioThread]:
    thread = AsyncioThread("test-client").start()
    yield thread
    thread.stop()


@pytest.fixture
def server_loop() -> Iterator[AsyncioThread]:
    thread = AsyncioThread("test-server").start()
    yield thread
    thread.stop()


def new_client(loop: AsyncioThread, **kwargs) -> EchoClient:
    client = EchoClient(**kwargs)
    loop.add_shutdown_callback(client.close)  # closed when the client loop stops
    return client


def connect(loop: AsyncioThread, service: MediaCheckService, client: EchoClient) -> None:
    sdp, kind = loop.run(client.offer())
    loop.run(client.accept(service.answer(sdp, kind)))
    assert wait_until(lambda: client.state == "connected", 10), client.state


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- AsyncioThread -------------------------------------------------------------


def test_loop_thread_runs_from_many_threads_and_reraises() -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0.01)
        assert threading.current_thread().name == "t"
        return 2 * x

    async def boom() -> None:
        raise KeyError("boom")

    thread = AsyncioThread("t").start()
    assert thread.start() is thread  # idempotent
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda x: thread.run(double(x), timeout=5), range(40)))
    assert results == [2 * x for x in range(40)]
    with pytest.raises(KeyError):
        thread.run(boom())
    thread.stop()


def test_loop_thread_timeout_cancels_and_stop_cleans_up() -> None:
    thread = AsyncioThread("t").start()
    events: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def on_shutdown() -> None:
        events.append("shutdown callback")

    with pytest.raises(TimeoutError):
        thread.run(slow(), timeout=0.1)
    assert wait_until(lambda: events == ["cancelled"], 2)
    thread.add_shutdown_callback(on_shutdown)
    pending = thread.submit(slow())
    loop = thread.loop
    thread.stop()
    thread.stop()  # idempotent
    assert events == ["cancelled", "shutdown callback", "cancelled"]
    assert pending.cancelled() and loop.is_closed()
    assert not any(t.name == "t" for t in threading.enumerate())
    with pytest.raises(RuntimeError):
        thread.run(asyncio.sleep(0))


# -- MediaCheckService ---------------------------------------------------------


def test_echoes_video_and_audio_then_closes_when_client_hangs_up(server_loop, client_loop) -> None:
    service = MediaCheckService(server_loop, ice_servers=[], time_limit_s=30)
    client = new_client(client_loop)
    connect(client_loop, service, client)
    assert service.active_count() == 1

    got = wait_until(lambda: len(client.counters) >= 15 and len(client.audio_rms) >= 25, 10)
    assert got, (len(client.counters), len(client.audio_rms))
    assert client.sizes == {(320, 240)}
    decoded = [n for n in client.counters if n is not None]
    assert len(set(decoded)) >= 10, client.counters
    assert decoded == sorted(decoded) and decoded[-1] < client.video.sent  # echoed in order, none invented
    assert max(client.audio_rms) > 1000  # the tone came back, not silence

    client_loop.run(client.close())
    assert wait_until(lambda: service.active_count() == 0, 5)


def test_peer_closed_after_time_limit(server_loop, client_loop) -> None:
    service = MediaCheckService(server_loop, ice_servers=[], time_limit_s=1.5)
    client = new_client(client_loop, size=(160, 120), audio=False)
    started = time.monotonic()
    connect(client_loop, service, client)
    assert wait_until(lambda: client.state == "closed", 6), client.state
    assert time.monotonic() - started >= 1.4
    assert wait_until(lambda: service.active_count() == 0, 2)


@pytest.mark.parametrize(
    ("sdp", "kind"),
    [
        ("v=0\r\n", "answer"),
        ("hello", "offer"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video nonsense\r\n", "offer"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "offer"),  # no media at all
        (None, "offer"),
    ],
)
def test_invalid_offer_rejected(server_loop, sdp, kind) -> None:
    service = MediaCheckService(server_loop, ice_servers=[])
    with pytest.raises(InvalidOffer) as info:
        service.answer(sdp, kind)
    assert isinstance(info.value, ValueError)
    assert (info.value.code, info.value.status) == ("invalid_offer", 422)
    assert service.active_count() == 0


def test_offer_without_outgoing_media_rejected(server_loop, client_loop) -> None:
    async def recv_only_offer() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        await pc.close()
        return pc.localDescription.sdp

    service = MediaCheckService(server_loop, ice_servers=[])
    with pytest.raises(InvalidOffer):
        service.answer(client_loop.run(recv_only_offer()), "offer")
    assert service.active_count() == 0


def test_configured_ice_servers_used_and_slow_answer_times_out(server_loop, client_loop) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stun_server:
        stun_server.bind(("127.0.0.1", 0))
        stun_server.settimeout(2)
        stun_url = f"stun:127.0.0.1:{stun_server.getsockname()[1]}"
        service = MediaCheckService(server_loop, ice_servers=[{"urls": [stun_url]}], answer_timeout_s=0.5)
        client = new_client(client_loop, size=(160, 120), audio=False)
        with pytest.raises(MediaCheckBusy):  # gathering waits for a STUN reply that comes too late
            service.answer(*client_loop.run(client.offer()))
        time.sleep(0.3)
        assert service.active_count() == 1  # still gathering: aioice must not be cancelled mid-way
        data, addr = stun_server.recvfrom(2048)
        request = stun.parse_message(data)
        assert request.message_method == stun.Method.BINDING
        response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, request.transaction_id)
        response.attributes["XOR-MAPPED-ADDRESS"] = addr
        stun_server.sendto(bytes(response), addr)
        assert wait_until(lambda: service.active_count() == 0, 2)  # closed once the setup ends


def test_busy_limit_is_enforced_atomically_and_shutdown_closes_all(server_loop, client_loop) -> None:
    service = MediaCheckService(server_loop, ice_servers=[], max_peers=2, time_limit_s=30)
    clients = [new_client(client_loop, size=(160, 120), audio=False) for _ in range(4)]
    offers = [client_loop.run(c.offer()) for c in clients]

    def try_answer(offer: tuple[str, str]) -> str:
        try:
            service.answer(*offer)
            return "ok"
        except MediaCheckBusy as exc:
            assert (exc.code, exc.status) == ("media_check_busy", 503)
            return "busy"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(try_answer, offers))
    assert sorted(outcomes) == ["busy", "busy", "ok", "ok"]
    assert service.active_count() == 2

    server_loop.stop()  # runs service.shutdown()
    assert service.active_count() == 0
    with pytest.raises(MediaCheckBusy):
        service.answer(*offers[0])


def test_slot_freed_when_a_check_ends(server_loop, client_loop) -> None:
    service = MediaCheckService(server_loop, ice_servers=[], max_peers=1, time_limit_s=30)
    first, second = (new_client(client_loop, size=(160, 120), audio=False) for _ in range(2))
    connect(client_loop, service, first)
    with pytest.raises(MediaCheckBusy):
        service.answer(*client_loop.run(second.offer()))
    client_loop.run(first.close())
    assert wait_until(lambda: service.active_count() == 0, 5)
    second = new_client(client_loop, size=(160, 120), audio=False)
    connect(client_loop, service, second)


def _resources() -> dict[str, int]:
    with open("/proc/self/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    named = [t.name for t in threading.enumerate() if not t.name.startswith("asyncio_")]  # not executors
    pools = threading.active_count() - len(named)
    native = len(os.listdir("/proc/self/task")) - pools
    return {
        "threads": len(named),
        "pools": pools,
        "native": native,
        "fds": len(os.listdir("/proc/self/fd")),
        "rss_kb": rss_kb,
    }


def test_sequential_checks_leave_nothing_behind(server_loop, client_loop) -> None:
    service = MediaCheckService(server_loop, ice_servers=[], time_limit_s=30)

    async def task_count() -> int:
        return len(asyncio.all_tasks())

    def one_check() -> None:
        client = EchoClient(size=(160, 120))
        connect(client_loop, service, client)
        assert wait_until(lambda: client.counters and client.audio_rms, 10), "no echo received"
        client_loop.run(client.close())
        assert wait_until(lambda: service.active_count() == 0, 5)

    for _ in range(2):  # warm up: codecs loaded, executor threads spawned
        one_check()
    before = _resources()
    threads_before = set(threading.enumerate())
    tasks_before = server_loop.run(task_count()), client_loop.run(task_count())
    for _ in range(50):
        one_check()
    after = _resources()
    print(
        f"\n50 sequential checks: before {before}, after {after}, "
        f"RSS growth {(after['rss_kb'] - before['rss_kb']) / 1024:.1f} MiB"
    )
    assert service.active_count() == 0
    assert (server_loop.run(task_count()), client_loop.run(task_count())) == tasks_before
    # other tests' threads may still be winding down, so: no new thread, and no more than before
    new_threads = [
        t for t in threading.enumerate() if t not in threads_before and not t.name.startswith("asyncio_")
    ]
    assert new_threads == []
    assert after["native"] <= before["native"]
    assert after["pools"] <= 2 * (min(32, (os.cpu_count() or 1) + 4))  # default executors are bounded
    assert after["fds"] <= before["fds"] + 3
    assert after["rss_kb"] - before["rss_kb"] < 50 * 1024
