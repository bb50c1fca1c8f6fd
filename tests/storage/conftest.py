"""Storage fixtures: a real S3 protocol endpoint (moto server mode on loopback) and a local root."""

from __future__ import annotations

import uuid

import boto3
import pytest

from telemed.storage import LocalStorage, storage_from_url
from telemed.storage.s3 import S3Storage
from tests.support.s3 import use_fake_aws


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for every storage test, never real ones."""
    use_fake_aws(monkeypatch)


@pytest.fixture
def s3_client(moto_endpoint: str):
    return boto3.session.Session().client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_storage(moto_endpoint: str) -> S3Storage:
    """S3Storage over a fresh private bucket (with a key prefix) on the moto server."""
    storage = storage_from_url(
        f"s3://test-{uuid.uuid4().hex[:16]}/uploads", endpoint_url=moto_endpoint, max_attempts=2
    )
    assert isinstance(storage, S3Storage)
    storage.ensure_bucket()
    return storage


@pytest.fixture
def local_storage(tmp_path) -> LocalStorage:
    storage = storage_from_url((tmp_path / "store").as_uri())
    assert isinstance(storage, LocalStorage)
    return storage
