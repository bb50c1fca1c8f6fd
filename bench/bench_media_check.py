"""How many concurrent pre-call checks one core sustains, and call setup time.

Run: ``.venv/bin/python bench/bench_media_check.py`` (about 2-3 minutes, Linux).

- The server (:class:`MediaCheckService` on an :class:`AsyncioThread`) runs in a
  subprocess pinned to one core; the clients run here, pinned to another.
- Each client sends a 640x480 VP8 stream at 15 fps plus an Opus tone. The video is
  encoded once up front and replayed, so client CPU goes to decoding the echo, and
  the server (which must decode and re-encode every frame) is the bottleneck.
- For N = 1, 2, 3, ... concurrent checks: count echoed video frames over a window;
  capacity is the largest N whose mean delivered rate stays >= 90% of sent.
- Call setup time (offer -> "connected") over 20 setups on loopback: aiortc to
  aiortc in one process, and through MediaCheckService in the subprocess.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from telemed.video.aioloop import AsyncioThread
from telemed.video.media_check import MediaCheckService

WIDTH, HEIGHT, FPS = 640, 480, 15
WARMUP_S, WINDOW_S = 2.0, 8.0
STEPS = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12]
TIME_BUDGET_S = 150.0
CLIENT_CPU, SERVER_CPU = 0, 1


# -- synthetic source --------------------------------------------------------


def make_clip(frames: int = 60) -> list[bytes]:
    """VP8 packets of a moving, textured 640x480 scene at 15 fps, one keyframe a second."""
    rnd = random.Random(7)
    tw, th = WIDTH + 160, HEIGHT + 120
    texture = bytes(
        max(0, min(255, int(128 + 60 * math.sin(x / 23) * math.cos(y / 17) + rnd.randint(-12, 12))))
        for y in range(th)
        for x in range(tw)
    )
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base, codec.framerate = fractions.Fraction(1, FPS), FPS
    codec.bit_rate, codec.gop_size = 1_000_000, FPS
    codec.options = {"deadline": "realtime", "cpu-used": "-6", "lag-in-frames": "0"}
    packets: list[bytes] = []
    for i in range(frames):
        dx = int(80 + 70 * math.cos(2 * math.pi * i / frames))
        dy = int(60 + 50 * math.sin(2 * math.pi * i / frames))
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(
            b"".join(texture[(y + dy) * tw + dx : (y + dy) * tw + dx + WIDTH] for y in range(HEIGHT))
        )
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = i
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    assert len(packets) == frames, len(packets)
    return packets


class ClipTrack(MediaStreamTrack):
    """Replays pre-encoded VP8 packets at 15 fps, starting on a keyframe."""

    kind = "video"

    def __init__(self, clip: list[bytes]) -> None:
        super().__init__()
        self.clip, self.sent, self._start = clip, 0, 0.0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self.sent == 0:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self.sent / FPS - time.monotonic()))
        packet = av.Packet(self.clip[self.sent % len(self.clip)])
        packet.pts, packet.time_base = self.sent * 90000 // FPS, fractions.Fraction(1, 90000)
        self.sent += 1
        return packet


class ToneTrack(AudioStreamTrack):
    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        frame.planes[0].update(TONE)
        return frame


TONE = b"".join(
    int(8000 * math.sin(2 * math.pi * 400 * i / 8000)).to_bytes(2, "little", signed=True) for i in range(160)
)


class Client:
    def __init__(self, clip: list[bytes]) -> None:
        self.video = ClipTrack(clip)
        self.received = 0
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.connected = asyncio.Event()
        self._tasks: list[asyncio.Future[None]] = []
        self.pc.on("track", lambda t: self._tasks.append(asyncio.ensure_future(self._consume(t))))
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def offer(self) -> tuple[str, str]:
        self.pc.addTrack(self.video)
        self.pc.addTrack(ToneTrack())
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp, self.pc.localDescription.type

    async def accept(self, answer: dict) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))
        await asyncio.wait_for(self.connected.wait(), 20)

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                self.received += 1

    async def close(self) -> None:
        await self.pc.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# -- server subprocess -------------------------------------------------------


def serve(conn: mp.connection.Connection) -> None:
    """Server process: pin to one core, then answer offers sent over ``conn``."""
    os.sched_setaffinity(0, {SERVER_CPU})  # before any thread starts: they inherit it
    loop_thread = AsyncioThread("bench-server").start()
    service = MediaCheckService(loop_thread, ice_servers=[], max_peers=100, time_limit_s=600)
    while (msg := conn.recv())[0] != "stop":
        if msg[0] == "answer":
            conn.send(service.answer(msg[1], msg[2]))
        elif msg[0] == "stats":
            conn.send((sum(os.times()[:2]), service.active_count()))  # user + system CPU s
    loop_thread.stop()
    conn.send("stopped")


class Server:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(child,), daemon=True)
        self.proc.start()

    def call(self, *msg: object) -> object:
        self.conn.send(msg)
        return self.conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self.proc.join(10)


# -- measurements --------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def setup_times(
    loop: AsyncioThread, server: Server, clip: list[bytes], n: int = 20
) -> tuple[list[float], list[float]]:
    async def direct() -> float:
        a, b = Client(clip), RTCPeerConnection(RTCConfiguration(iceServers=[]))
        b.on("track", lambda t: b.addTrack(t))  # plain echo, no relay
        start = time.perf_counter()
        sdp, kind = await a.offer()
        await b.setRemoteDescription(RTCSessionDescription(sdp, kind))
        await b.setLocalDescription(await b.createAnswer())
        await a.accept({"sdp": b.localDescription.sdp, "type": "answer"})
        elapsed = time.perf_counter() - start
        await a.close()
        await b.close()
        return elapsed

    direct_s = [loop.run(direct()) for _ in range(n)]
    service_s = []
    for _ in range(n):
        client = Client(clip)
        start = time.perf_counter()
        answer = server.call("answer", *loop.run(client.offer()))
        loop.run(client.accept(answer))
        service_s.append(time.perf_counter() - start)
        loop.run(client.close())
    return direct_s, service_s


def load_step(loop: AsyncioThread, server: Server, clip: list[bytes], n: int) -> dict[str, float]:
    clients = [Client(clip) for _ in range(n)]
    for client in clients:
        loop.run(client.accept(server.call("answer", *loop.run(client.offer()))))
    time.sleep(WARMUP_S)
    sent0, recv0 = [c.video.sent for c in clients], [c.received for c in clients]
    cpu0, own0, t0 = server.call("stats")[0], sum(os.times()[:2]), time.monotonic()
    time.sleep(WINDOW_S)
    cpu1, own1, t1 = server.call("stats")[0], sum(os.times()[:2]), time.monotonic()
    ratios = [
        (c.received - r) / max(c.video.sent - s, 1) for c, s, r in zip(clients, sent0, recv0, strict=True)
    ]
    fps = [(c.received - r) / (t1 - t0) for c, r in zip(clients, recv0, strict=True)]
    for client in clients:
        loop.run(client.close())
    deadline = time.monotonic() + 10
    while server.call("stats")[1] and time.monotonic() < deadline:
        time.sleep(0.05)
    return {
        "mean": statistics.mean(ratios),
        "min": min(ratios),
        "fps": statistics.mean(fps),
        "cpu": 100 * (cpu1 - cpu0) / (t1 - t0),
        "client_cpu": 100 * (own1 - own0) / (t1 - t0),
    }


def main() -> None:
    started = time.monotonic()
    os.sched_setaffinity(0, {CLIENT_CPU})
    clip = make_clip()
    server = Server()
    loop = AsyncioThread("bench-clients").start()
    try:
        direct_s, service_s = setup_times(loop, server, clip)
        for label, values in (
            ("aiortc<->aiortc, one process", direct_s),
            ("client -> MediaCheckService subprocess", service_s),
        ):
            print(
                f"call setup (offer -> connected), {label}, n={len(values)}: "
                f"p50 {1000 * statistics.median(values):.0f} ms, p95 {1000 * percentile(values, 95):.0f} ms"
            )
        print(
            f"\nconcurrent checks, {WIDTH}x{HEIGHT}@{FPS} VP8 + Opus, server pinned to CPU {SERVER_CPU}, "
            f"window {WINDOW_S:.0f}s after {WARMUP_S:.0f}s warm-up"
        )
        print(
            f"{'N':>3} {'delivered/sent mean':>20} {'min':>6} {'fps/peer':>9} {'server CPU%':>12} {'client CPU%':>12}"
        )
        capacity = 0
        for n in STEPS:
            if time.monotonic() - started > TIME_BUDGET_S:
                print("(time budget reached)")
                break
            r = load_step(loop, server, clip, n)
            print(
                f"{n:>3} {r['mean']:>19.1%} {r['min']:>6.1%} {r['fps']:>9.1f} {r['cpu']:>11.0f}% {r['client_cpu']:>11.0f}%",
                flush=True,
            )
            if r["mean"] < 0.9:
                break
            capacity = n
        print(f"\ncapacity: {capacity} concurrent pre-call checks per core (delivered >= 90% of sent)")
    finally:
        loop.stop()
        server.stop()
    print(f"total {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
