"""The bell is live: a notification reaches every connection of its user over Socket.IO (the
outbox relay of the serving process), and nobody else's."""

import pytest
import requests

from tests.socket.test_asyncapi import Contract
from tests.support.clients import ApiClient
from tests.support.factories import next_slot_start


@pytest.fixture
def relay(app):
    relay = app.extensions["telemed.relay"].start()  # as `telemed serve` does
    yield relay
    relay.stop()


def test_a_booking_rings_the_members_bell_on_each_of_their_connections(
    app, factory, world, live, connect, relay
):
    phone, laptop, boris = connect("anna"), connect("anna"), connect("boris")
    slot = factory.slot(world["doctor"], next_slot_start(days=4))
    r = ApiClient(app, "anna").post("/api/v1/consultations", json={"slot_id": slot.id})
    assert r.status_code == 201, r.json
    for client in (phone, laptop):
        [event] = client.wait_for("notification")
        assert event["kind"] == "booked" and event["consultation_id"] == r.json["id"]
        assert event["read_at"] is None and "Терапевт" in event["title"]  # the profile's language: ru
    Contract(requests.get(f"{live.url}/api/v1/asyncapi.json", timeout=10).json()).check(
        "notificationEvent", event
    )
    listed = ApiClient(app, "anna").get("/api/v1/notifications").json[0]
    assert listed["id"] == event["id"]
    assert boris.received("notification") == []
