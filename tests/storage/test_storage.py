"""Behaviour of both storage backends against a real filesystem and a real S3 protocol endpoint."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import time
import tracemalloc
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from werkzeug.http import parse_options_header

from telemed.content_disposition import attachment_header
from telemed.errors import EmptyFile, FileTooLarge, IntegrityFailure, NotFound, StorageUnavailable
from telemed.storage import InvalidKey, LocalStorage, Storage, check_key, storage_from_url
from telemed.storage.s3 import S3Storage

MiB = 1024 * 1024


class ClientGone(Exception):
    """Stands for a client disconnecting mid-upload (an error raised by the input stream)."""


class GenStream:
    """A lazily generated random stream; optionally raises ClientGone after ``fail_after`` bytes."""

    def __init__(self, size: int, *, fail_after: int | None = None):
        self.size, self.fail_after, self.pos = size, fail_after, 0
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        assert n is not None and n > 0, "storage must read in bounded chunks"
        limit = self.size if self.fail_after is None else min(self.size, self.fail_after)
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise ClientGone()
        data = os.urandom(min(n, limit - self.pos))
        self.pos += len(data)
        self.sha.update(data)
        return data


def leftovers(storage: Storage) -> list[str]:
    """Everything the backend holds: files (temp files included) or objects + pending uploads."""
    if isinstance(storage, LocalStorage):
        return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if not p.is_dir())
    assert isinstance(storage, S3Storage)
    s3 = storage.client
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket=storage.bucket).get("Contents", [])]
    uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])]
    return objects + [f"pending upload: {k}" for k in uploads]


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    return request.getfixturevalue(f"{request.param}_storage")


def test_round_trip_with_sha256(storage: Storage) -> None:
    data = "Анализ крови: гемоглобин 140 г/л\n".encode() * 100
    obj = storage.put_stream(io.BytesIO(data), content_type="text/plain", max_size=MiB)
    assert (obj.size, obj.sha256, obj.content_type) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        "text/plain",
    )
    assert b"".join(storage.open(obj.key, expected_sha256=obj.sha256)) == data
    assert storage.exists(obj.key)
    assert storage.ping()
    storage.delete(obj.key)
    storage.delete(obj.key)  # idempotent
    assert not storage.exists(obj.key)
    assert leftovers(storage) == []
    with pytest.raises(NotFound):
        storage.open(obj.key)


def test_key_is_random_not_the_file_name(storage: Storage) -> None:
    streams = [io.BytesIO(b"%PDF-1.7 same bytes") for _ in range(2)]
    for s in streams:
        s.name = "../../Анализ крови.pdf"
    keys = [storage.put_stream(s, content_type="application/pdf", max_size=100).key for s in streams]
    assert keys[0] != keys[1]
    for key in keys:
        assert check_key(key) == key
        assert "pdf" not in key and ".." not in key


def test_small_object_uses_single_encrypted_put(s3_storage: S3Storage, monkeypatch) -> None:
    calls: list[str] = []
    for name in ("put_object", "create_multipart_upload", "upload_part"):
        real = getattr(s3_storage.client, name)
        monkeypatch.setattr(
            s3_storage.client, name, lambda *a, _n=name, _r=real, **kw: (calls.append(_n), _r(*a, **kw))[1]
        )
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
    obj = s3_storage.put_stream(io.BytesIO(data), content_type="image/png", max_size=MiB)
    assert calls == ["put_object"]
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key=f"uploads/{obj.key}")
    assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/png"


def test_large_stream_uses_multipart(storage: Storage) -> None:
    stream = GenStream(12 * MiB + 123)
    obj = storage.put_stream(stream, content_type="application/dicom", max_size=20 * MiB, chunk_size=5 * MiB)
    assert (obj.size, obj.sha256) == (stream.size, stream.sha.hexdigest())
    assert leftovers(storage) == [obj.key if isinstance(storage, LocalStorage) else f"uploads/{obj.key}"]
    if isinstance(storage, S3Storage):
        head = storage.client.head_object(Bucket=storage.bucket, Key=f"uploads/{obj.key}")
        assert head["ContentLength"] == stream.size
        assert head["ETag"].endswith('-3"')
        assert head["ServerSideEncryption"] == "AES256"
    got = hashlib.sha256()
    for chunk in storage.open(obj.key, expected_sha256=obj.sha256, chunk_size=MiB):
        assert len(chunk) <= MiB
        got.update(chunk)
    assert got.hexdigest() == obj.sha256


@pytest.mark.parametrize("size, max_size", [(2000, 1000), (12 * MiB, 7 * MiB)])
def test_too_large_leaves_nothing_and_stops_reading(storage: Storage, size, max_size) -> None:
    stream = GenStream(size)
    with pytest.raises(FileTooLarge):
        storage.put_stream(stream, content_type="text/plain", max_size=max_size, chunk_size=5 * MiB)
    assert stream.pos == max_size + 1
    assert leftovers(storage) == []


def test_exact_max_size_is_accepted(storage: Storage) -> None:
    obj = storage.put_stream(
        GenStream(5 * MiB), content_type="text/plain", max_size=5 * MiB, chunk_size=5 * MiB
    )
    assert obj.size == 5 * MiB


def test_empty_file(storage: Storage) -> None:
    with pytest.raises(EmptyFile):
        storage.put_stream(io.BytesIO(b""), content_type="text/plain", max_size=100)
    assert leftovers(storage) == []


@pytest.mark.parametrize("fail_after", [100, 7 * MiB])
def test_input_stream_error_propagates_and_leaves_nothing(storage: Storage, fail_after) -> None:
    with pytest.raises(ClientGone):
        storage.put_stream(
            GenStream(12 * MiB, fail_after=fail_after),
            content_type="text/plain",
            max_size=20 * MiB,
            chunk_size=5 * MiB,
        )
    assert leftovers(storage) == []


def test_s3_failure_on_second_part_aborts_upload(s3_storage: S3Storage, monkeypatch) -> None:
    real, calls = s3_storage.client.upload_part, []

    def flaky_upload_part(**kwargs):
        calls.append(kwargs["PartNumber"])
        if len(calls) == 2:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        return real(**kwargs)

    monkeypatch.setattr(s3_storage.client, "upload_part", flaky_upload_part)
    with pytest.raises(StorageUnavailable):
        s3_storage.put_stream(
            GenStream(12 * MiB), content_type="text/plain", max_size=20 * MiB, chunk_size=5 * MiB
        )
    assert sorted(calls)[:2] == [1, 2] and len(calls) <= 3  # stops reading once a part failed
    assert leftovers(s3_storage) == []


def test_s3_parts_go_up_two_at_a_time_while_the_next_is_read(s3_storage: S3Storage, monkeypatch) -> None:
    """Parts overlap each other and the reading of the next part, but never more than
    ``part_concurrency`` are in flight (the memory bound)."""
    real, lock = s3_storage.client.upload_part, threading.Lock()
    state = {"now": 0, "max": 0}

    def slow_upload_part(**kwargs):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.2)
        try:
            return real(**kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(s3_storage.client, "upload_part", slow_upload_part)
    stream = GenStream(26 * MiB)
    obj = s3_storage.put_stream(stream, content_type="text/plain", max_size=30 * MiB, chunk_size=5 * MiB)
    assert state["max"] == s3_storage.part_concurrency == 2
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key=f"uploads/{obj.key}")
    assert head["ETag"].endswith('-6"') and head["ContentLength"] == stream.size
    got = b"".join(s3_storage.open(obj.key, expected_sha256=obj.sha256))
    assert hashlib.sha256(got).hexdigest() == stream.sha.hexdigest()  # parts assembled in order


@pytest.mark.parametrize("method, size", [("put_object", 100), ("complete_multipart_upload", 6 * MiB)])
def test_s3_response_lost_after_write_deletes_object(
    s3_storage: S3Storage, monkeypatch, method: str, size: int
) -> None:
    real = getattr(s3_storage.client, method)

    def written_but_timed_out(**kwargs):
        real(**kwargs)
        raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(s3_storage.client, method, written_but_timed_out)
    with pytest.raises(StorageUnavailable):
        s3_storage.put_stream(
            GenStream(size), content_type="text/plain", max_size=10 * MiB, chunk_size=5 * MiB
        )
    assert leftovers(s3_storage) == []


def test_local_failure_on_rename_removes_temp_file(local_storage: LocalStorage, monkeypatch) -> None:
    def broken_replace(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StorageUnavailable):
        local_storage.put_stream(
            GenStream(6 * MiB), content_type="text/plain", max_size=10 * MiB, chunk_size=5 * MiB
        )
    monkeypatch.undo()
    assert leftovers(local_storage) == []


def test_s3_endpoint_down_is_storage_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: connections are refused
    storage = storage_from_url(
        "s3://bucket/p",
        endpoint_url=f"http://127.0.0.1:{port}",
        max_attempts=1,
        connect_timeout=1,
        read_timeout=1,
    )
    key = "ab/ab" + "0" * 30
    started = time.monotonic()
    assert storage.ping() is False
    with pytest.raises(StorageUnavailable):
        storage.put_stream(io.BytesIO(b"x"), content_type="text/plain", max_size=10)
    with pytest.raises(StorageUnavailable):
        storage.open(key)
    with pytest.raises(StorageUnavailable):
        storage.exists(key)
    with pytest.raises(StorageUnavailable):
        storage.delete(key)
    assert time.monotonic() - started < 10


def test_local_root_gone_is_storage_unavailable(local_storage: LocalStorage) -> None:
    obj = local_storage.put_stream(io.BytesIO(b"x"), content_type="text/plain", max_size=10)
    for p in sorted(local_storage.root.rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    local_storage.root.rmdir()
    local_storage.root.write_bytes(b"not a directory")
    assert local_storage.ping() is False
    with pytest.raises(StorageUnavailable):
        local_storage.put_stream(io.BytesIO(b"x"), content_type="text/plain", max_size=10)
    with pytest.raises(StorageUnavailable):
        local_storage.open(obj.key)


def test_tampered_bytes_fail_integrity_check(storage: Storage) -> None:
    obj = storage.put_stream(io.BytesIO(b"original bytes"), content_type="text/plain", max_size=100)
    if isinstance(storage, LocalStorage):
        (storage.root / obj.key).write_bytes(b"tampered bytes")
    else:
        storage.client.put_object(Bucket=storage.bucket, Key=f"uploads/{obj.key}", Body=b"tampered bytes")
    assert b"".join(storage.open(obj.key)) == b"tampered bytes"  # no check without a hash
    with pytest.raises(IntegrityFailure):
        b"".join(storage.open(obj.key, expected_sha256=obj.sha256))
    tampered_sha = hashlib.sha256(b"tampered bytes").hexdigest().upper()  # case-insensitive
    assert b"".join(storage.open(obj.key, expected_sha256=tampered_sha)) == b"tampered bytes"


HOSTILE_KEYS = [
    "../x",
    "ab/../../x",
    "/etc/passwd",
    "ab/ab" + "0" * 30 + "\n",
    "AB/AB" + "0" * 30,
    "ff/00" + "0" * 30,
    "ab/ab" + "0" * 29,
    "ab\\ab" + "0" * 30,
    "",
    "uploads/ab/ab" + "0" * 30,
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_rejected(storage: Storage, key: str, tmp_path) -> None:
    sentinel = tmp_path / "x"
    sentinel.write_bytes(b"keep me")
    with pytest.raises(InvalidKey):
        storage.open(key)
    with pytest.raises(InvalidKey):
        storage.delete(key)
    with pytest.raises(InvalidKey):
        storage.exists(key)
    with pytest.raises(InvalidKey):
        storage.presigned_get_url(key, filename="x", content_type="text/plain")
    assert sentinel.read_bytes() == b"keep me"


def test_local_symlinked_fanout_cannot_escape_root(local_storage: LocalStorage, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ("ab" + "0" * 30)).write_bytes(b"secret")
    (local_storage.root / "ab").symlink_to(outside)
    with pytest.raises(InvalidKey):
        local_storage.open("ab/ab" + "0" * 30)


def test_local_memory_does_not_grow_with_file_size(local_storage: LocalStorage) -> None:
    stream = GenStream(150 * MiB)
    tracemalloc.start()
    try:
        obj = local_storage.put_stream(stream, content_type="text/plain", max_size=200 * MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert obj.size == 150 * MiB and obj.sha256 == stream.sha.hexdigest()
    assert peak < 20 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_presigned_url_downloads_with_content_disposition(s3_storage: S3Storage) -> None:
    data = b"%PDF-1.7 report"
    obj = s3_storage.put_stream(io.BytesIO(data), content_type="application/pdf", max_size=100)
    url = s3_storage.presigned_get_url(
        obj.key, filename="Анализ крови.pdf", content_type="application/pdf", expires=60
    )
    assert url and "X-Amz-Signature=" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == data
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == attachment_header("Анализ крови.pdf")
    disposition, params = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, params["filename"]) == ("attachment", "Анализ крови.pdf")
    query = parse_qs(urlsplit(url).query)  # moto does not verify signatures: check what is signed
    assert query["X-Amz-Expires"] == ["60"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def test_local_has_no_presigned_url(local_storage: LocalStorage) -> None:
    obj = local_storage.put_stream(io.BytesIO(b"x"), content_type="text/plain", max_size=10)
    assert local_storage.presigned_get_url(obj.key, filename="x.txt", content_type="text/plain") is None


def test_sse_fallback_is_detected_once(s3_storage: S3Storage, monkeypatch) -> None:
    seen: list[bool] = []
    real = s3_storage.client.put_object

    def put_without_sse_support(**kwargs):
        seen.append("ServerSideEncryption" in kwargs)
        if "ServerSideEncryption" in kwargs:
            raise ClientError({"Error": {"Code": "NotImplemented", "Message": "no KMS"}}, "PutObject")
        return real(**kwargs)

    monkeypatch.setattr(s3_storage.client, "put_object", put_without_sse_support)
    keys = [
        s3_storage.put_stream(io.BytesIO(b"abc"), content_type="text/plain", max_size=10).key
        for _ in range(2)
    ]
    assert seen == [True, False, False]
    assert all(s3_storage.exists(k) for k in keys)


def test_ensure_bucket_is_private_and_idempotent(moto_endpoint: str) -> None:
    storage = storage_from_url(f"s3://fresh-{uuid.uuid4().hex[:12]}", endpoint_url=moto_endpoint)
    assert isinstance(storage, S3Storage) and storage.ping() is False
    storage.ensure_bucket()
    storage.ensure_bucket()
    assert storage.ping() is True
    block = storage.client.get_public_access_block(Bucket=storage.bucket)
    assert all(block["PublicAccessBlockConfiguration"].values())


def test_open_releases_file_when_abandoned(local_storage: LocalStorage) -> None:
    obj = local_storage.put_stream(io.BytesIO(b"x" * 100), content_type="text/plain", max_size=100)
    before = len(os.listdir("/proc/self/fd"))
    stream = local_storage.open(obj.key, chunk_size=10)
    assert len(os.listdir("/proc/self/fd")) == before + 1
    assert next(stream) == b"x" * 10
    stream.close()  # type: ignore[attr-defined]
    assert len(os.listdir("/proc/self/fd")) == before
    assert list(stream) == []


@pytest.mark.parametrize(
    "url, error",
    [
        ("http://bucket/x", ValueError),
        ("file://host/abs", ValueError),
        ("file:relative/dir", ValueError),
        ("s3:///nobucket", ValueError),
    ],
)
def test_storage_url_validation(url: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        storage_from_url(url)


def test_file_url_rejects_s3_options(tmp_path) -> None:
    with pytest.raises(TypeError):
        storage_from_url(tmp_path.as_uri(), max_attempts=1)


def test_only_the_s3_backend_imports_botocore(tmp_path):
    """The embedded default (local directory) works without loading boto3/botocore at all."""
    import subprocess
    import sys

    code = (
        "import sys, telemed.storage as st;"
        f"s = st.storage_from_url({(tmp_path / 'store').as_uri()!r});"
        "assert type(s).__name__ == 'LocalStorage';"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('botocore', 'boto3')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_named_objects_are_written_whole_listed_in_order_and_read_back(storage: Storage) -> None:
    assert storage.list_named("audit-checkpoints") == []
    storage.put_named("audit-checkpoints/000000000002.json", b'{"seq":2}', content_type="application/json")
    storage.put_named("audit-checkpoints/000000000001.json", b'{"seq":1}', content_type="application/json")
    storage.put_named(
        "audit-checkpoints/000000000001.json", b'{"seq":1,"v":2}', content_type="application/json"
    )
    assert storage.list_named("audit-checkpoints") == [
        "audit-checkpoints/000000000001.json",
        "audit-checkpoints/000000000002.json",
    ]
    assert storage.read_named("audit-checkpoints/000000000001.json") == b'{"seq":1,"v":2}'
    with pytest.raises(NotFound):
        storage.read_named("audit-checkpoints/000000000003.json")
    for bad in ("../etc/passwd", "audit-checkpoints/../x", "ab/" + "a" * 32, "Audit/x", "x/.hidden/y"):
        with pytest.raises(InvalidKey):
            storage.put_named(bad, b"x", content_type="text/plain")
