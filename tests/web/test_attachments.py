"""Attachments: streamed to object storage (local directory and S3 over HTTP), typed by their bytes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import func, select
from werkzeug.http import parse_options_header

from telemed.documents.models import Attachment
from tests.conftest import empty_tables, make_app
from tests.support.clients import ApiClient, csrf_token, page_login
from tests.support.factories import Factory, make_consultation
from tests.support.live import LiveServer
from tests.support.pdf import pdf_of
from tests.support.s3 import use_fake_aws

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
DICOM = b"\x00" * 128 + b"DICM" + b"\x00" * 64
TEXT = "Гемоглобин 135 г/л\nЛейкоциты 6.1\n".encode()


@pytest.fixture(params=["local", "s3"])
def store_app(request, db_url, tmp_path, monkeypatch):
    if request.param == "s3":
        use_fake_aws(monkeypatch)
        extra = {
            "STORAGE_URL": f"s3://att-{uuid.uuid4().hex[:12]}/docs",
            "S3_ENDPOINT_URL": request.getfixturevalue("moto_endpoint"),
        }
    else:
        extra = {"STORAGE_URL": (tmp_path / "store").as_uri()}
    app = make_app(db_url, tmp_path, MAX_UPLOAD_MB=30, **extra)
    storage = app.extensions["telemed.storage"]
    if hasattr(storage, "ensure_bucket"):
        storage.ensure_bucket()
    empty_tables(app)
    app.storage_kind = request.param
    yield app
    app.extensions["telemed.db"].dispose()


@pytest.fixture
def world(store_app):
    f = Factory(store_app)
    contract = f.contract()
    member, patient = f.member("anna", contract=contract)
    doctor = f.doctor(username="drt")
    f.member("boris", contract=contract)
    c = make_consultation(f, member, patient, doctor, contract)
    return {"consultation": c, "patient": patient, "member": member}


def stored_objects(app) -> list[str]:
    storage = app.extensions["telemed.storage"]
    if app.storage_kind == "local":
        return [str(p) for p in Path(storage.root).rglob("*") if p.is_file()]
    s3 = storage.client
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=storage.bucket).get("Contents", [])]
    pending = s3.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
    return keys + [f"pending:{u['Key']}" for u in pending]


def row_count(app) -> int:
    with app.extensions["telemed.db"].session() as s:
        return s.scalar(select(func.count()).select_from(Attachment))


def multipart_chunks(name: str, head: bytes, size: int, chunk: int = 1024 * 1024):
    """A chunked multipart body (no Content-Length) of ``size`` bytes starting with ``head``."""
    yield (
        f'--B\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + head
    sent = len(head)
    block = b"0" * chunk
    while sent < size:
        part = block[: min(chunk, size - sent)]
        sent += len(part)
        yield part
    yield b"\r\n--B--\r\n"


def storage_key(app, attachment_id: int) -> str:
    with app.extensions["telemed.db"].session() as s:
        return s.get(Attachment, attachment_id).storage_key


def multipart(data: bytes, name: str, content_type: str, field: str = "file") -> tuple[bytes, str]:
    """Encode one file field (werkzeug's own encoder leaks a temporary file for large bodies)."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "%0D").replace("\n", "%0A")
    head = (
        f'--BOUNDARY\r\nContent-Disposition: form-data; name="{field}"; filename="{quoted}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + b"\r\n--BOUNDARY--\r\n", "multipart/form-data; boundary=BOUNDARY"


def upload(
    api, cid, data: bytes, name="analysis.pdf", content_type="application/pdf", headers=None, client=None
):
    body, ctype = multipart(data, name, content_type)
    return (client or api.client).post(
        f"/api/v1/consultations/{cid}/attachments",
        headers={**(api._headers() if api else {}), **(headers or {})},
        data=body,
        content_type=ctype,
    )


def test_upload_and_download_round_trip(store_app, world):
    api = ApiClient(store_app, "anna")
    r = upload(api, world["consultation"].id, PDF, name="Анализ крови.pdf")
    assert r.status_code == 201, r.json
    body = r.json
    assert body["filename"] == "Анализ крови.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF) and len(body["sha256"]) == 64
    doctor = ApiClient(store_app, "drt")
    got = doctor.get(f"/api/v1/attachments/{body['id']}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Type"] == "application/pdf"
    disposition, params = parse_options_header(got.headers["Content-Disposition"])
    assert disposition == "attachment" and params["filename"] == "Анализ крови.pdf"
    assert len(stored_objects(store_app)) == 1
    key = storage_key(store_app, body["id"])
    assert "Анализ" not in key and "pdf" not in key


def test_a_stranger_can_neither_upload_nor_download(store_app, world):
    cid = world["consultation"].id
    r = upload(ApiClient(store_app, "boris"), cid, PDF)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0
    aid = upload(ApiClient(store_app, "anna"), cid, PDF).json["id"]
    assert ApiClient(store_app, "boris").get(f"/api/v1/attachments/{aid}").status_code == 404
    assert ApiClient(store_app).get(f"/api/v1/attachments/{aid}").status_code == 401


@pytest.mark.parametrize(
    "data, name, expected",
    [
        (PNG, "scan.png", "image/png"),
        (JPEG, "photo.jpg", "image/jpeg"),
        (HEIC, "IMG_0001.HEIC", "image/heic"),
        (DICOM, "ct.dcm", "application/dicom"),
        (TEXT, "results.txt", "text/plain"),
        (PDF, "no-extension", "application/pdf"),
    ],
)
def test_allowed_types_are_decided_from_the_bytes(store_app, world, data, name, expected):
    r = upload(
        ApiClient(store_app, "anna"),
        world["consultation"].id,
        data,
        name=name,
        content_type="application/octet-stream",
    )
    assert r.status_code == 201 and r.json["content_type"] == expected


@pytest.mark.parametrize(
    "data, name",
    [
        (b"<html><script>alert(1)</script></html>", "results.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "scan.png"),
        (b"  <!DOCTYPE html><p>hi", "notes.txt"),
        (b"PK\x03\x04" + b"\x00" * 100, "archive.pdf"),
        (b"MZ\x90\x00" + b"\x00" * 100, "program.jpg"),
    ],
)
def test_disguised_and_unsupported_types_are_refused(store_app, world, data, name):
    r = upload(ApiClient(store_app, "anna"), world["consultation"].id, data, name=name)
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_type"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0


def test_empty_file_is_refused(store_app, world):
    r = upload(ApiClient(store_app, "anna"), world["consultation"].id, b"")
    assert r.status_code == 422 and r.json["error"]["code"] == "empty_file"


def test_missing_file_field_and_non_multipart_bodies(store_app, world):
    api = ApiClient(store_app, "anna")
    cid = world["consultation"].id
    body, ctype = multipart(PDF, "a.pdf", "application/pdf", field="other")
    r = api.client.post(
        f"/api/v1/consultations/{cid}/attachments", headers=api._headers(), data=body, content_type=ctype
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_error"
    r = api.post(f"/api/v1/consultations/{cid}/attachments", json={"file": "x"})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


def test_too_large_is_refused_and_leaves_nothing(store_app, world, monkeypatch):
    store_app.config["MAX_UPLOAD_MB"] = 1
    api = ApiClient(store_app, "anna")
    r = upload(api, world["consultation"].id, PDF + b"0" * (3 * 1024 * 1024))
    assert r.status_code == 413 and r.json["error"]["code"] == "file_too_large"
    # without a Content-Length (chunked), the limit is enforced while streaming
    with LiveServer(store_app) as live:
        r = requests.post(
            f"{live.url}/api/v1/consultations/{world['consultation'].id}/attachments",
            headers={**api._headers(), "Content-Type": "multipart/form-data; boundary=B"},
            data=multipart_chunks("big.pdf", PDF, 3 * 1024 * 1024),
            timeout=30,
        )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0


@pytest.mark.parametrize(
    "name",
    [
        "../../x.pdf",
        "a\r\nSet-Cookie: x=1.pdf",
        "quo\"te's.pdf",
        "я" * 300 + ".pdf",
        "C:\\Windows\\evil.pdf",
        "\x00.pdf",
    ],
)
def test_hostile_file_names_are_made_safe(store_app, world, name):
    api = ApiClient(store_app, "anna")
    r = upload(api, world["consultation"].id, PDF, name=name)
    assert r.status_code == 201
    stored = r.json["filename"]
    assert "/" not in stored and "\\" not in stored and "\r" not in stored and "\n" not in stored
    assert "\x00" not in stored and len(stored) <= 200 and stored.endswith(".pdf")
    got = api.get(f"/api/v1/attachments/{r.json['id']}")
    assert "\r" not in got.headers["Content-Disposition"] and "\n" not in got.headers["Content-Disposition"]
    assert parse_options_header(got.headers["Content-Disposition"])[1]["filename"] == stored


def test_attachments_travel_with_a_message(store_app, world):
    cid = world["consultation"].id
    api = ApiClient(store_app, "anna")
    aid = upload(api, cid, PNG, name="рентген.png", content_type="image/png").json["id"]
    r = api.post(f"/api/v1/consultations/{cid}/messages", json={"text": "Снимок", "attachment_ids": [aid]})
    assert r.status_code == 201
    assert r.json["attachments"] == [
        {"id": aid, "filename": "рентген.png", "content_type": "image/png", "size": len(PNG)}
    ]
    again = api.post(f"/api/v1/consultations/{cid}/messages", json={"text": "again", "attachment_ids": [aid]})
    assert again.status_code == 422
    doctor_file = upload(ApiClient(store_app, "drt"), cid, PDF).json["id"]
    theirs = api.post(f"/api/v1/consultations/{cid}/messages", json={"attachment_ids": [doctor_file]})
    assert theirs.status_code == 422
    assert api.get(f"/api/v1/consultations/{cid}/messages").json[-1]["attachments"][0]["id"] == aid


def test_browser_uploads_need_the_csrf_header(store_app, world):
    client = page_login(store_app, "anna")
    token = csrf_token(client.get("/cabinet").text)
    cid = world["consultation"].id
    r = upload(None, cid, PDF, client=client)
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    r = upload(None, cid, PDF, client=client, headers={"X-CSRFToken": token})
    assert r.status_code == 201


def test_a_database_failure_after_storing_removes_the_object(store_app, world, monkeypatch):
    import telemed.documents.store as store

    def boom(_name, _content_type):
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "filename_for", boom)
    r = upload(ApiClient(store_app, "anna"), world["consultation"].id, PDF)
    assert r.status_code == 500 and r.json["error"]["code"] == "internal_error"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0


def test_storage_failure_midway_leaves_nothing_and_the_server_keeps_serving(store_app, world, monkeypatch):
    storage = store_app.extensions["telemed.storage"]
    api = ApiClient(store_app, "anna")
    cid = world["consultation"].id
    if store_app.storage_kind == "s3":
        real = storage.client.upload_part
        calls = []

        def flaky(**kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
            return real(**kwargs)

        monkeypatch.setattr(storage.client, "upload_part", flaky)
    else:
        import telemed.storage.local as local

        def broken_replace(*_args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(local.os, "replace", broken_replace)
    r = upload(api, cid, pdf_of(os.urandom(20 * 1024 * 1024)))
    assert r.status_code == 503 and r.json["error"]["code"] == "storage_unavailable"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0
    monkeypatch.undo()
    assert api.get("/api/v1/me").status_code == 200
    assert upload(api, cid, PDF).status_code == 201


def test_large_files_use_s3_multipart(store_app, world):
    if store_app.storage_kind != "s3":
        pytest.skip("multipart upload is an S3 feature")
    data = pdf_of(os.urandom(12 * 1024 * 1024))
    r = upload(ApiClient(store_app, "anna"), world["consultation"].id, data)
    assert r.status_code == 201
    storage = store_app.extensions["telemed.storage"]
    key = storage_key(store_app, r.json["id"])
    head = (
        boto3.session.Session()
        .client("s3", endpoint_url=store_app.config["S3_ENDPOINT_URL"])
        .head_object(Bucket=storage.bucket, Key=f"{storage.prefix}/{key}")
    )
    assert head["ContentLength"] == len(data) and "-" in head["ETag"]
    assert ApiClient(store_app, "drt").get(f"/api/v1/attachments/{r.json['id']}").data == data


def test_a_pdf_named_as_html_is_stored_and_served_as_pdf(store_app, world):
    api = ApiClient(store_app, "anna")
    r = upload(api, world["consultation"].id, PDF, name="результаты.html", content_type="text/html")
    assert r.status_code == 201 and r.json["filename"] == "результаты.pdf"
    got = api.get(f"/api/v1/attachments/{r.json['id']}")
    assert got.headers["Content-Type"] == "application/pdf"
    assert parse_options_header(got.headers["Content-Disposition"])[1]["filename"] == "результаты.pdf"


def test_a_pdf_with_javascript_is_refused_and_leaves_nothing(store_app, world):
    from tests.unit.test_document_content import BROKEN_WITH_SCRIPT, open_action, written

    for data in (written(open_action), BROKEN_WITH_SCRIPT):
        r = upload(ApiClient(store_app, "anna"), world["consultation"].id, data, name="анализ.pdf")
        assert r.status_code == 422 and r.json["error"]["code"] == "unsafe_document"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0


def test_text_with_markup_beyond_the_first_4_kib_is_refused_and_leaves_nothing(store_app, world):
    data = TEXT * 200 + b"<script>alert(1)</script>\n"
    assert data.find(b"<script>") > 4096
    r = upload(ApiClient(store_app, "anna"), world["consultation"].id, data, name="results.txt")
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_type"
    assert stored_objects(store_app) == [] and row_count(store_app) == 0
