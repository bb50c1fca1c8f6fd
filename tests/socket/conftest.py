"""A consultation with its member, doctor and a stranger, served live."""

import logging

import pytest

from tests.support.clients import ApiClient
from tests.support.factories import make_consultation
from tests.support.live import LiveServer, SocketClient


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def world(app, factory):
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Доктор Т")
    factory.member("boris", contract=contract)
    c = make_consultation(factory, member, patient, doctor, contract)
    tokens = {u: ApiClient(app, u).token for u in ("anna", "drt", "boris")}
    return {
        "contract": contract,
        "member": member,
        "patient": patient,
        "doctor": doctor,
        "consultation": c,
        "tokens": tokens,
    }


@pytest.fixture
def connect(live, world):
    clients = []

    def _connect(username: str) -> SocketClient:
        client = SocketClient(live.url, token=world["tokens"][username]).connect()
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        client.close()


SERVER_LOGGERS = ("telemed", "socketio", "engineio")


@pytest.fixture
def server_errors(caplog):
    """A function listing the ERROR records logged so far by telemed, python-socketio and
    python-engineio (a bad request must never log one)."""

    def errors() -> list[str]:
        return [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= logging.ERROR and r.name.split(".")[0] in SERVER_LOGGERS
        ]

    return errors
