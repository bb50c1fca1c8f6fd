"""A staff login session is not idle while its page is in the room of a consultation in progress (a
long call): the serving process's presence heartbeat moves its idle limit on; a room of a consultation
not in progress (an old page left open) does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemed.auth import service as auth_service
from telemed.auth.models import LoginSession, User
from telemed.scheduling.models import Consultation
from telemed.sockets import live_connections, process_id
from telemed.video.events import heartbeat
from telemed.video.models import RoomPresence
from tests.support.factories import make_consultation


@pytest.mark.parametrize(("status", "kept"), [("in_progress", True), ("completed", False)])
def test_a_call_keeps_the_doctor_s_login_session_alive(app, db, factory, monkeypatch, status, kept):
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt")
    c = make_consultation(factory, member, patient, doctor, contract, status=status)
    start = datetime.now(UTC)
    with db.transaction() as s:
        user = s.get_one(User, doctor.user_id)
        sid = auth_service.open_login_session(
            s, user, now=start, ttl=timedelta(days=1), idle=timedelta(minutes=15)
        )
        s.add(RoomPresence(sid="conn-1", consultation_id=c.id, user_id=user.id, process_id=process_id(app)))
    live_connections(app)["conn-1"] = auth_service.Credential("login_session", sid)
    later = start + timedelta(minutes=14)
    monkeypatch.setattr("telemed.web.utcnow", lambda: later)
    try:
        heartbeat(app)
    finally:
        live_connections(app).pop("conn-1", None)
    with db.session() as s:
        row = s.get_one(LoginSession, sid)
        assert s.get_one(Consultation, c.id).status == status
        assert (row.idle_expires_at == later + timedelta(minutes=15)) is kept
        alive = auth_service.user_for_login_session(s, sid, now=start + timedelta(minutes=20))
        assert (alive is not None) is kept
