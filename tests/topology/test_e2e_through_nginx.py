"""The video call in the Debian Chromium through nginx (HTTPS, WebSocket) to the two app
processes: member and doctor see each other and chat; the process serving them is killed with
SIGKILL mid-call, the pages reconnect through nginx to the other process, the call stays up and
the chat goes on, in the same documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.browser import CONNECTED, log_in, wait_connected, wait_for
from tests.support.factories import PASSWORD, Factory, make_consultation
from tests.topology.test_topology import _serving_behind_nginx, kill, until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

CHAT_ONLINE = "document.querySelector('#chat').dataset.state !== 'offline'"


@pytest.fixture
def call(pg_app):
    factory = Factory(pg_app)
    contract = factory.contract()
    member, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return make_consultation(factory, member, patient, doctor, contract, start=start)


@pytest.fixture
def open_page(browser, topology):
    contexts, errors = [], []

    def _open(username: str):
        context = browser.new_context(
            base_url=topology.nginx.url, ignore_https_errors=True, permissions=["camera", "microphone"]
        )
        contexts.append(context)
        return log_in(context, username, PASSWORD, errors)

    yield _open
    for context in contexts:
        context.close()
    assert errors == []


def test_a_call_through_nginx_survives_the_death_of_its_process(topology, call, open_page):
    member, doctor = open_page("anna"), open_page("drt")
    for page in (member, doctor):
        page.goto(f"/consultations/{call.id}/room")
    wait_connected(member)
    wait_connected(doctor)
    member.evaluate("window.sameDocument = performance.timeOrigin")
    doctor.fill("#chat textarea", "Вы меня видите?")
    doctor.click("#chat button[type=submit]")
    member.wait_for_selector("#chat .message:not(.mine) >> text=Вы меня видите?")

    serving = _serving_behind_nginx(topology)
    kill(serving)
    try:
        wait_for(member, CHAT_ONLINE, timeout=30_000)
        wait_for(member, CONNECTED, timeout=30_000)
        member.fill("#chat textarea", "Да, всё в порядке")
        member.click("#chat button[type=submit]")
        doctor.wait_for_selector("#chat .message:not(.mine) >> text=Да, всё в порядке", timeout=30_000)
        wait_connected(doctor)
        assert member.evaluate("window.sameDocument === performance.timeOrigin")  # no reload
    finally:
        serving.start()
        until(lambda: serving.proc.poll() is None)
