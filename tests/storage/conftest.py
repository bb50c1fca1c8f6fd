"""Storage fixtures: a real S3 protocol endpoint (moto server mode on loopback) and a local root."""

from __future__ import annotations

import uuid
from typing import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from telemed.storage import LocalStorage, storage_from_url
from telemed.storage_s3 import S3Storage

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto S3 server listening on 127.0.0.1 on a free port, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for every storage test, never real ones."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3_client(moto_endpoint: str):
    return boto3.session.Session().client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_storage(moto_endpoint: str) -> S3Storage:
    """S3Storage over a fresh private bucket (with a key prefix) on the moto server."""
    storage = storage_from_url(f"s3://test-{uuid.uuid4().hex[:16]}/uploads",
                               endpoint_url=moto_endpoint, max_attempts=2)
    assert isinstance(storage, S3Storage)
    storage.ensure_bucket()
    return storage


@pytest.fixture
def local_storage(tmp_path) -> LocalStorage:
    storage = storage_from_url((tmp_path / "store").as_uri())
    assert isinstance(storage, LocalStorage)
    return storage
