"""A real call: two aiortc peers (member and doctor) signaling through a live telemed server.

Offer, answer and ICE candidates go through the ``signal`` event only (the SDPs carry no
candidates, see ``tests.support.rtc_peer``); both peers must reach ``connected`` and decode
video frames that the other side made. A third member of the same contract can neither join
nor signal, and receives nothing. Runs on SQLite and PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from telemed.video.aioloop import AsyncioThread
from tests.support.factories import make_consultation
from tests.support.live import LiveServer, SocketClient
from tests.support.rtc_peer import DOCTOR_TAG, MEMBER_TAG, RtcPeer, api_token, logged_warnings

FRAMES = 10


@pytest.fixture(autouse=True)
def no_logged_warnings() -> Iterator[None]:
    """Fail on warnings/errors logged from any thread (aiortc, the peers' loops, the server)."""
    with logged_warnings() as records:
        yield
    assert not records, [logging.Formatter().format(r) for r in records]


@pytest.fixture
def room(app, factory):
    """A consultation starting in 5 minutes (room open), its member and doctor, and another member."""
    app.config.update(STUN_URLS="", TURN_URLS="", TURN_SECRET=None)  # host candidates only, whatever the env
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Доктор Т")
    factory.member("boris", contract=contract)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    c = make_consultation(factory, member, patient, doctor, contract, start=start)
    return {"consultation": c, "member": member, "doctor": doctor}


@pytest.fixture
def live(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def loops() -> Iterator[tuple[AsyncioThread, AsyncioThread]]:
    member_loop, doctor_loop = AsyncioThread("member-peer").start(), AsyncioThread("doctor-peer").start()
    yield member_loop, doctor_loop
    member_loop.stop()
    doctor_loop.stop()


@pytest.fixture
def peers(live, room, loops) -> Iterator[tuple[RtcPeer, RtcPeer]]:
    cid = room["consultation"].id
    member = RtcPeer(live.url, "anna", cid, loops[0])
    doctor = RtcPeer(live.url, "drt", cid, loops[1])
    yield member, doctor
    for peer in (member, doctor):
        peer.close()


def test_member_and_doctor_call_through_signal(live, room, peers) -> None:
    member, doctor = peers
    cid = room["consultation"].id
    boris = SocketClient(live.url, token=api_token(live.url, "boris")).connect()
    try:
        member.start()
        doctor.start()
        assert (
            member.ice_servers_json == doctor.ice_servers_json == []
        )  # from the endpoint: host candidates only
        assert member.join()["room_open"] is True
        for event in ("join", "signal"):  # an outsider can neither enter the room nor signal into it
            ack = boris.call(event, {"consultation_id": cid, "type": "offer", "sdp": "v=0\r\n"})
            assert ack["ok"] is False and ack["error"]["code"] == "not_found", (event, ack)
        doctor.join()
        assert member.wait_connected(15), (member.states, member.log)
        assert doctor.wait_connected(15), (doctor.states, doctor.log)
        assert member.wait_frames(FRAMES) and doctor.wait_frames(FRAMES), (member.frames, doctor.frames)
        ack = boris.call("signal", {"consultation_id": cid, "type": "bye"})
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    finally:
        time.sleep(0.2)
        boris_got = boris.received("signal")
        boris.close()

    assert member.is_offerer and not doctor.is_offerer
    assert member.state == doctor.state == "connected"
    # the offer/answer went through signal without candidates; the candidates went separately
    types = {p.role: [s["type"] for s in p.log.sent] for p in peers}
    assert types["member"][0] == "offer" and types["doctor"][0] == "answer", types
    for peer, other in ((member, doctor), (doctor, member)):
        sent = [s for s in peer.log.sent if s["type"] == "candidate"]
        assert sent[-1]["candidate"] is None  # end-of-candidates
        assert len(sent) >= 2 and all(s["candidate"]["candidate"].startswith("candidate:") for s in sent[:-1])
        assert all(s["ack"] == {"ok": True, "delivered": 1} for s in peer.log.sent)
        assert "a=candidate" not in other.remote_sdp
        assert other.log.applied_candidates == len(sent) - 1 and other.log.end_of_candidates
        # what reached the other side came from this peer, with the server's `from`
        got = list(other.sock.received("signal"))
        assert {(s["from"]["id"], s["from"]["role"]) for s in got} == {(peer.user["id"], peer.role)}
        assert len(got) == len(peer.log.sent)
        assert peer.selected_pair() == ("host", "host")

    # frames really came from the other side: its tag, its counter, in order, none made up
    for peer, other, tag in ((member, doctor, DOCTOR_TAG), (doctor, member, MEMBER_TAG)):
        decoded = peer.decoded()
        assert len(decoded) >= FRAMES and len(decoded) >= 0.9 * peer.frames, peer.received
        assert {t for t, _ in decoded} == {tag}
        counters = [n for _, n in decoded]
        assert len(set(counters)) >= FRAMES
        assert counters[:FRAMES] == sorted(counters[:FRAMES]) and counters[FRAMES - 1] < other.video.sent
    assert not member.errors and not doctor.errors
    assert boris_got == []  # the third member never received a signal during the call


def test_doctor_may_offer_and_join_order_does_not_matter(live, room, loops) -> None:
    """The doctor joins first and offers (offerer rule overridden); the member answers."""
    cid = room["consultation"].id
    doctor = RtcPeer(live.url, "drt", cid, loops[1], offerer=True, size=(160, 128))
    member = RtcPeer(live.url, "anna", cid, loops[0], offerer=False, size=(160, 128))
    try:
        doctor.start().join()
        member.start().join()
        assert doctor.wait_connected(15) and member.wait_connected(15), (doctor.states, member.states)
        assert member.wait_frames(FRAMES) and doctor.wait_frames(FRAMES)
        assert doctor.log.sent[0]["type"] == "offer" and member.log.sent[0]["type"] == "answer"
        assert {t for t, _ in member.decoded()} == {DOCTOR_TAG}
        assert {t for t, _ in doctor.decoded()} == {MEMBER_TAG}
    finally:
        member.close()
        doctor.close()
    assert not member.errors and not doctor.errors
