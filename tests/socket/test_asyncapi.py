"""The AsyncAPI document describes what a live session really sends and answers."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from telemed.api.asyncapi_parts import REFUSALS
from telemed.chat import service as chat
from telemed.sockets import EVENT_MAX
from telemed.video import service as video
from tests.support.factories import make_consultation

CLIENT_EVENTS = ("join", "leave", "message", "typing", "read", "signal")
SERVER_EVENTS = (
    "message",
    "typing",
    "read",
    "presence",
    "signal",
    "urgent_queue",
    "urgent_status",
    "notification",
)
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
URI = "urn:telemed:asyncapi"


@pytest.fixture
def doc(live):
    r = requests.get(f"{live.url}/api/v1/asyncapi.json", timeout=10)  # no credentials
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    return r.json()


class Contract:
    """Validators for the document's message payloads, ``$ref``s resolved within the document."""

    def __init__(self, doc):
        self.doc = doc
        self.registry = Registry().with_resource(
            URI, Resource.from_contents(doc, default_specification=DRAFT7)
        )

    def validator(self, message: str) -> Draft7Validator:
        assert message in self.doc["components"]["messages"], message
        schema = {"$ref": f"{URI}#/components/messages/{message}/payload"}
        return Draft7Validator(schema, registry=self.registry)

    def check(self, message: str, instance) -> None:
        errors = [e.message for e in self.validator(message).iter_errors(instance)]
        assert errors == [], (message, instance, errors)

    def refuses(self, message: str, instance) -> bool:
        return not self.validator(message).is_valid(instance)


def test_the_document_is_asyncapi_3_and_anonymous(doc, live):
    assert doc["asyncapi"] == "3.0.0"
    assert doc["servers"]["telemed"]["host"] == live.url.removeprefix("http://")
    assert doc["servers"]["telemed"]["protocol"] == "ws"
    ops = doc["operations"]
    assert {name: op["action"] for name, op in ops.items()} == {
        **{f"on_{e}": "receive" for e in CLIENT_EVENTS},
        **{f"emit_{e}": "send" for e in SERVER_EVENTS},
    }
    messages = doc["components"]["messages"]
    assert {messages[f"{e}Event"]["name"] for e in SERVER_EVENTS} == set(SERVER_EVENTS)
    for event in CLIENT_EVENTS:
        assert messages[event]["name"] == event
        assert ops[f"on_{event}"]["reply"]["messages"] == [
            {"$ref": f"#/channels/default/messages/{event}Ack"}
        ]
    for ref in _refs(doc):  # every reference resolves
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_limits_come_from_the_handlers_constants(doc):
    messages, schemas = doc["components"]["messages"], doc["components"]["schemas"]
    text = messages["message"]["payload"]["properties"]
    assert text["text"]["maxLength"] == chat.TEXT_MAX
    assert text["attachment_ids"]["maxItems"] == chat.ATTACHMENTS_MAX
    signal = schemas["Signal"]["properties"]
    assert signal["type"]["enum"] == list(video.SIGNAL_TYPES)
    assert signal["sdp"]["maxLength"] == video.SDP_MAX
    assert signal["pc"]["pattern"] == video.PC_ID_RE.pattern
    assert schemas["IceCandidate"]["properties"]["candidate"]["maxLength"] == video.CANDIDATE_MAX
    assert str(EVENT_MAX) in doc["info"]["description"]
    for event in CLIENT_EVENTS:
        refused = messages[f"{event}Ack"]["payload"]["oneOf"][1]["properties"]["error"]["allOf"][1]
        assert refused["properties"]["code"]["enum"] == list(REFUSALS[event])
        assert "payload_too_large" in REFUSALS[event] and "not_found" in REFUSALS[event]


def test_a_live_session_matches_the_document(doc, connect, factory, world):
    """Every ack and event of a session (chat, call, refusals) validates against its schema, and so
    does every payload sent."""
    contract = Contract(doc)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    c = make_consultation(
        factory, world["member"], world["patient"], world["doctor"], world["contract"], start=start
    )
    cid = c.id
    anna, doctor, boris = connect("anna"), connect("drt"), connect("boris")

    def call(client, event, data):
        contract.check(event, data)
        ack = client.call(event, data)
        contract.check(f"{event}Ack", ack)
        return ack

    assert call(anna, "join", {"consultation_id": cid})["ok"]
    assert call(doctor, "join", {"consultation_id": cid, "after": None})["ok"]
    first = call(anna, "message", {"consultation_id": cid, "text": "Добрый день"})["id"]
    mid = call(anna, "message", {"consultation_id": cid, "text": "вопрос:\n\tкак?", "attachment_ids": []})
    caught_up = call(doctor, "join", {"consultation_id": cid, "after": first})["messages"]
    assert [m["id"] for m in caught_up] == [mid["id"]]
    assert call(doctor, "typing", {"consultation_id": cid})["ok"]
    assert call(doctor, "typing", {"consultation_id": cid, "typing": False})["ok"]
    assert call(doctor, "read", {"consultation_id": cid, "up_to_id": mid["id"]})["up_to_id"] == mid["id"]
    for signal in (
        {"type": "offer", "sdp": OFFER, "pc": "pc-1"},
        {"type": "answer", "sdp": OFFER, "to_pc": "pc-1"},
        {"type": "candidate", "candidate": CANDIDATE},
        {"type": "candidate", "candidate": None},
        {"type": "restart"},
        {"type": "bye"},
    ):
        assert call(anna, "signal", {"consultation_id": cid, **signal})["delivered"] == 1
    for refused in (
        (boris, "join", {"consultation_id": cid}),  # not_found
        (boris, "leave", {"consultation_id": cid}),
        (anna, "read", {"consultation_id": cid, "up_to_id": mid["id"] + 100}),  # validation_error
        (anna, "message", {"consultation_id": world["consultation"].id, "text": " "}),
    ):
        assert call(*refused)["ok"] is False
    for event, data in [
        ("message", {"consultation_id": cid, "text": "x" * (EVENT_MAX + 1)}),  # payload_too_large
        ("typing", {"consultation_id": cid, "typing": "yes"}),
        ("signal", {"consultation_id": cid, "type": "offer", "sdp": OFFER + "\x00"}),
        ("join", "not an object"),
    ]:
        contract.check(f"{event}Ack", anna.call(event, data))
        assert contract.refuses(event, data)  # the document refuses them too
    assert call(doctor, "leave", {"consultation_id": cid}) == {"ok": True}
    anna.wait_for("presence", 3)
    time.sleep(0.2)
    for client in (anna, doctor, boris):
        for event in SERVER_EVENTS:
            for payload in client.received(event):
                contract.check(f"{event}Event", payload)
    assert {e: len(anna.received(e)) > 0 for e in ("message", "typing", "read", "presence")} == dict.fromkeys(
        ("message", "typing", "read", "presence"), True
    )
    assert len(doctor.received("signal")) == 6


@pytest.mark.parametrize(
    "event, data",
    [
        ("join", {"consultation_id": "1"}),
        ("join", {"consultation_id": 1, "after": 0}),
        ("leave", {}),
        ("message", {"consultation_id": 1, "text": "x" * (chat.TEXT_MAX + 1)}),
        ("message", {"consultation_id": 1, "text": "nul\x00"}),
        ("message", {"consultation_id": 1, "attachment_ids": list(range(1, chat.ATTACHMENTS_MAX + 2))}),
        ("typing", {"consultation_id": 1, "typing": 1}),
        ("read", {"consultation_id": 1}),
        ("signal", {"consultation_id": 1, "type": "hello"}),
        ("signal", {"consultation_id": 1, "type": "offer"}),
        ("signal", {"consultation_id": 1, "type": "offer", "sdp": "v=0" + "a" * video.SDP_MAX}),
        ("signal", {"consultation_id": 1, "type": "restart", "sdp": OFFER}),
        ("signal", {"consultation_id": 1, "type": "candidate", "candidate": {**CANDIDATE, "extra": 1}}),
        ("signal", {"consultation_id": 1, "type": "candidate", "candidate": {**CANDIDATE, "sdpMid": "0\n"}}),
        ("signal", {"consultation_id": 1, "type": "bye", "pc": "has space"}),
    ],
)
def test_the_document_refuses_what_the_validators_refuse(event, data):
    from telemed.api.asyncapi import document

    assert Contract(document()).refuses(event, data)
