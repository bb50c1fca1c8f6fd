"""A call relayed through a real coturn on 127.0.0.1, with the app's short-lived TURN credentials.

coturn (Debian package ``coturn``, binary ``turnserver``) is started by the tests with a temporary
config (:mod:`tests.support.turn`): ``use-auth-secret`` + ``static-auth-secret`` (the TURN REST
scheme the app signs with), UDP only, loopback peers allowed. The peers use aiortc's
``RTCIceTransportPolicy.RELAY`` (aioice ``TransportPolicy.RELAY``: only TURN candidates are
gathered) and drop any non-relay remote candidate, and the tests check that the nominated ICE
pair is relay/relay on both sides and that coturn logged the allocations. Wrong or expired
credentials must get no allocation, hence no relay candidate.

Skipped when ``turnserver`` is not installed, unless ``TELEMED_REQUIRE_TURN=1`` (then it fails).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiortc import RTCConfiguration, RTCIceTransportPolicy, RTCPeerConnection

from telemed.video.aioloop import AsyncioThread
from telemed.video.ice import turn_credentials
from tests.support.factories import make_consultation
from tests.support.live import LiveServer
from tests.support.rtc_peer import (
    DOCTOR_TAG,
    MEMBER_TAG,
    CounterVideoTrack,
    RtcPeer,
    ice_servers_from_json,
    logged_warnings,
    sdp_candidates,
)
from tests.support.turn import Coturn, start_coturn

FRAMES = 10


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coturn(tmp_path_factory) -> Iterator[Coturn]:
    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    try:
        yield server
    finally:
        server.stop()
        assert not server.running, "coturn still running after the tests"


@pytest.fixture(autouse=True)
def no_logged_warnings() -> Iterator[None]:
    with logged_warnings() as records:
        yield
    assert not records, [logging.Formatter().format(r) for r in records]


@pytest.fixture
def loops() -> Iterator[tuple[AsyncioThread, AsyncioThread]]:
    a, b = AsyncioThread("member-peer").start(), AsyncioThread("doctor-peer").start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def room(app, factory):
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return {
        "consultation": make_consultation(factory, member, patient, doctor, contract, start=start),
        "member": member,
        "doctor": doctor,
    }


# -- tests -----------------------------------------------------------------------------------------


def test_call_relayed_through_coturn(app, coturn, room, loops) -> None:
    app.config.update(STUN_URLS="", TURN_URLS=coturn.url, TURN_SECRET=coturn.secret, TURN_TTL_SECONDS=600)
    cid = room["consultation"].id
    with LiveServer(app) as live:
        member = RtcPeer(live.url, "anna", cid, loops[0], relay_only=True, size=(160, 128))
        doctor = RtcPeer(live.url, "drt", cid, loops[1], relay_only=True, size=(160, 128))
        try:
            for peer in (member, doctor):
                peer.start()
                (turn,) = peer.ice_servers_json  # from the ice-servers endpoint
                assert turn["urls"] == [coturn.url]
                assert turn["username"].split(":")[1] == str(peer.user["id"])
            member.join()
            doctor.join()
            assert member.wait_connected(20) and doctor.wait_connected(20), (member.states, doctor.states)
            assert member.wait_frames(FRAMES) and doctor.wait_frames(FRAMES), (member.frames, doctor.frames)
            pairs = member.selected_pair(), doctor.selected_pair()
        finally:
            member.close()
            doctor.close()

    assert pairs == (("relay", "relay"), ("relay", "relay"))
    for peer in (member, doctor):
        types = peer.local_candidate_types()
        assert types and set(types) == {"relay"}, types  # only TURN candidates were gathered and signaled
        assert not peer.errors
    assert {t for t, _ in member.decoded()} == {DOCTOR_TAG}
    assert {t for t, _ in doctor.decoded()} == {MEMBER_TAG}
    log = coturn.log()
    for peer in (member, doctor):
        username = peer.ice_servers_json[0]["username"]
        assert coturn.allocated(username), log[-3000:]
        assert f"user <{username}>: incoming packet CHANNEL_BIND processed, success" in log


def test_wrong_or_expired_turn_credentials_allocate_nothing(coturn) -> None:
    now = int(time.time())
    good = turn_credentials(coturn.secret, 41, ttl=600, now=now)
    wrong_secret = turn_credentials("not-" + coturn.secret, 42, ttl=600, now=now)
    expired = turn_credentials(coturn.secret, 43, ttl=600, now=now - 3600)
    tampered = (good[0].replace(":41", ":44"), good[1])  # another user id under the same password

    async def relay_candidates(username: str, password: str) -> list[str]:
        servers = ice_servers_from_json(
            [{"urls": [coturn.url], "username": username, "credential": password}]
        )
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        )
        try:
            pc.addTrack(CounterVideoTrack(1, 160, 128))
            await pc.setLocalDescription(await pc.createOffer())
            return [c["candidate"] for c in sdp_candidates(pc.localDescription.sdp)]
        finally:
            await pc.close()

    loop = AsyncioThread("turn-credentials").start()
    try:
        got = {
            name: loop.run(relay_candidates(*creds), timeout=20)
            for name, creds in {
                "good": good,
                "wrong_secret": wrong_secret,
                "expired": expired,
                "tampered": tampered,
            }.items()
        }
    finally:
        loop.stop()

    assert len(got["good"]) == 1 and " typ relay " in got["good"][0], got
    assert got["wrong_secret"] == got["expired"] == got["tampered"] == [], got
    log = coturn.log()
    assert coturn.allocated(good[0])
    for username, _ in (wrong_secret, expired, tampered):
        assert not coturn.allocated(username)
        assert re.search(rf"user <{re.escape(username)}>: incoming packet \w+ processed, error 401", log), (
            log[-3000:]
        )
