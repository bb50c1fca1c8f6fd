"""Logs and audit rows never carry search terms, e-card filters, file names or diagnoses: every logger,
the access log, the Werkzeug server's and gunicorn's own lines."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select

from telemed.records.audit_models import AuditEvent
from telemed.serving import NoQueryStrings
from tests.support import otp
from tests.support.clients import ApiClient, csrf_token
from tests.support.factories import PASSWORD, make_consultation
from tests.support.live import LiveServer
from tests.support.serve import ServeProcess

BIRTH_DATE, DIAGNOSIS, FILE_NAME = "14.03.1988", "ВИЧ", "Петров-ВИЧ-анализ.txt"
SECRETS = (BIRTH_DATE, DIAGNOSIS, "Петров", quote(DIAGNOSIS), quote("Петров"))


class Everything(logging.Handler):
    """Every record of every logger, as it would be written (message and traceback), but the test's
    own HTTP client's (urllib3 logs the URLs it requests)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("urllib3"):
            self.lines.append(logging.Formatter().format(record))


@pytest.fixture
def all_logs():
    handler = Everything()
    loggers = [logging.getLogger(), logging.getLogger("telemed.access")]  # the access log does not propagate
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def raw_request(url: str, line: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(line + b"\r\nHost: x\r\n\r\n")
        return conn.recv(1024)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_a_search_an_ecard_filter_and_an_upload_leave_no_trace_in_logs_or_audit(
    app, db, factory, all_logs, capfd
):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract, birth_date=date(1988, 3, 14))
    doctor = factory.doctor("therapist", username="drt")
    factory.user("rec", role="records", consent=False)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    with LiveServer(app) as live:
        page = requests.Session()
        form = csrf_token(page.get(f"{live.url}/login").text)
        r = page.post(f"{live.url}/login", data={"username": "rec", "password": PASSWORD, "csrf_token": form})
        if r.url.endswith("/login/code"):  # staff: the second step
            code = {"code": otp.next_code("rec"), "csrf_token": csrf_token(r.text)}
            r = page.post(f"{live.url}/login/code", data=code)
        assert "/login" not in r.url, r.url
        found = page.get(f"{live.url}/patients", params={"q": BIRTH_DATE})
        assert found.status_code == 200 and f"/patients/{patient.id}/record" in found.text
        assert page.get(f"{live.url}/patients", params={"q": "Петров"}).status_code == 200
        rec = {"Authorization": f"Bearer {ApiClient(app, 'rec').token}"}
        assert requests.get(f"{live.url}/api/v1/patients", params={"q": BIRTH_DATE}, headers=rec).ok
        r = requests.get(
            f"{live.url}/api/v1/patients/{patient.id}/record", params={"text": DIAGNOSIS}, headers=rec
        )
        assert r.ok
        member = {"Authorization": f"Bearer {ApiClient(app, 'anna').token}"}
        r = requests.post(
            f"{live.url}/api/v1/consultations/{c.id}/attachments",
            files={"file": (FILE_NAME, "Результат: отрицательно\n".encode(), "text/plain")},
            headers=member,
        )
        assert r.status_code == 201 and r.json()["filename"] == FILE_NAME
        raw_request(live.url, f"GET /patients?q={BIRTH_DATE} HTTP/1.1 junk".encode())  # a malformed line
    logged = "\n".join(all_logs.lines) + capfd.readouterr().err
    assert "/api/v1/patients" in logged  # the access log was captured
    assert leaks(logged) == []
    with db.session() as s:
        rows = list(s.scalars(select(AuditEvent)))
    assert {(e.object_type, e.action) for e in rows} >= {
        ("patient_search", "search"),
        ("attachment", "write"),
    }
    assert [e.object_id for e in rows if e.object_type == "patient_search"] == [None, None, None]
    assert leaks(" ".join(str(e.object_id) for e in rows)) == []


def test_gunicorns_error_log_cuts_query_strings(tmp_path):
    server = ServeProcess(
        "gunicorn",
        {"INSTANCE_DIR": str(tmp_path / "instance"), "PASSWORD_HASH": "argon2-fast"},
        tmp_path / "serve.log",
    ).start()
    try:
        raw_request(server.url, f"GET /patients?q={BIRTH_DATE}".encode())  # no version: refused, logged
        assert requests.get(f"{server.url}/patients", params={"q": BIRTH_DATE}).status_code in (200, 302)
    finally:
        server.stop()
    log = server.log()
    assert "Invalid request" in log and "?…" in log  # the line was logged, its query cut
    assert leaks(log) == []


def test_the_filter_cuts_every_query_string_of_a_record():
    record = logging.LogRecord(
        "gunicorn.error",
        logging.ERROR,
        __file__,
        1,
        "Error handling request %s %s",
        ("GET", "/x?q=ВИЧ&a=1"),
        None,
    )
    assert NoQueryStrings().filter(record) and record.getMessage() == "Error handling request GET /x?…"
