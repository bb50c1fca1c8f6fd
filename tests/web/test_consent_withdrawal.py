"""Withdrawn consent stops processing, not only booking (152-ФЗ): the member's and their children's
consultations ahead are cancelled with the reason, and chat messages, uploads, the pre-call check
and urgent requests answer 422 ``consent_required`` until consent is given again; the e-card stays
readable."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from telemed.scheduling.models import Consultation
from telemed.scheduling.service import CONSENT_WITHDRAWN_REASON
from tests.support import urgent as u
from tests.support.clients import ApiClient
from tests.support.factories import make_consultation


@pytest.fixture
def w(factory):
    return u.world(factory)


def _status(db, cid: int) -> tuple[str, str | None]:
    with db.session() as s:
        c = s.get(Consultation, cid)
        return c.status, c.cancel_reason


def test_withdrawal_cancels_what_lies_ahead_and_stops_processing(app, db, factory, w):
    now = datetime.now(UTC).replace(microsecond=0)
    anna, child, contract = w["anna"], w["child"], w["contract"]
    own_ahead = make_consultation(
        factory, anna, w["patient"], w["t1"], contract, start=now + timedelta(days=1)
    )
    child_ahead = make_consultation(factory, anna, child, w["ped"], contract, start=now + timedelta(days=2))
    under_way = make_consultation(
        factory, anna, w["patient"], w["t2"], contract, start=now - timedelta(minutes=5), status="in_progress"
    )
    waiting = u.ask(app, anna, child)
    boris_ahead = make_consultation(
        factory, w["boris"], w["boris_patient"], w["t1"], contract, start=now + timedelta(days=1, hours=1)
    )
    member = ApiClient(app, "anna")
    assert (
        member.post(f"/api/v1/consultations/{under_way.id}/messages", json={"text": "до"}).status_code == 201
    )

    r = member.delete("/api/v1/me/consent")
    assert r.status_code == 200 and r.json["accepted"] is False
    for cid in (own_ahead.id, child_ahead.id, waiting):
        assert _status(db, cid) == ("cancelled", CONSENT_WITHDRAWN_REASON)
    assert _status(db, under_way.id) == ("in_progress", None)  # the record of a visit under way is kept
    assert _status(db, boris_ahead.id) == ("scheduled", None)  # nobody else's
    shown = member.get(f"/api/v1/consultations/{own_ahead.id}").json
    assert shown["status"] == "cancelled" and shown["cancel_reason"] == CONSENT_WITHDRAWN_REASON

    def refused(response):
        assert response.status_code == 422, response.json
        assert response.json["error"]["code"] == "consent_required"

    refused(member.post(f"/api/v1/consultations/{under_way.id}/messages", json={"text": "после"}))
    refused(
        member.client.post(
            f"/api/v1/consultations/{under_way.id}/attachments",
            data={"file": (io.BytesIO(b"analysis\n"), "a.txt")},
            headers=member._headers(),
            content_type="multipart/form-data",
        )
    )
    refused(member.post("/api/v1/media-check/offer", json={"type": "offer", "sdp": "v=0\r\n"}))
    refused(member.post("/api/v1/urgent", json={"patient_id": child.id}))
    assert member.get(f"/api/v1/patients/{w['patient'].id}/record").status_code == 200  # kept, readable
    doctor = ApiClient(app, "drt2")  # the doctor may still finish the record of the visit under way
    assert (
        doctor.post(f"/api/v1/consultations/{under_way.id}/messages", json={"text": "итог"}).status_code
        == 201
    )

    assert (
        member.post("/api/v1/me/consent", json={"version": app.config["CONSENT_VERSION"]}).status_code == 200
    )
    again = member.post(f"/api/v1/consultations/{under_way.id}/messages", json={"text": "снова"})
    assert again.status_code == 201


def test_withdrawing_on_the_page_says_what_it_stopped(app, db, factory, w):
    from tests.support.clients import csrf_token, page_login, text_of

    ahead = make_consultation(
        factory, w["anna"], w["patient"], w["t1"], w["contract"], start=datetime.now(UTC) + timedelta(days=1)
    )
    page = page_login(app, "anna")
    token = csrf_token(page.get("/consent").text)
    r = page.post("/consent", data={"action": "withdraw", "csrf_token": token}, follow_redirects=True)
    assert "отменены" in text_of(r.text)
    assert _status(db, ahead.id) == ("cancelled", CONSENT_WITHDRAWN_REASON)
