"""A ``Storage`` that counts its backend's failures (``telemed_storage_errors_total``).

It delegates every call to the backend; ``StorageUnavailable`` and ``IntegrityFailure``, raised by a
call or while streaming an object, are counted (by operation) and raised unchanged. Other
attributes (``root``, ``client``, ``bucket``, ``ensure_bucket``...) are the backend's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from telemed.errors import IntegrityFailure, StorageUnavailable
from telemed.ops.metrics import STORAGE_ERRORS
from telemed.storage import Readable, Storage, StoredObject
from telemed.storage.base import DEFAULT_CHUNK

FAILURES = (StorageUnavailable, IntegrityFailure)


def _count(operation: str, exc: BaseException) -> None:
    kind = "integrity" if isinstance(exc, IntegrityFailure) else "unavailable"
    STORAGE_ERRORS.labels(operation=operation, kind=kind).inc()


class MeteredStorage(Storage):
    """Wraps a backend; see the module docstring."""

    def __init__(self, backend: Storage):
        self.backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def put_stream(
        self, stream: Readable, *, content_type: str, max_size: int, chunk_size: int = DEFAULT_CHUNK
    ) -> StoredObject:
        try:
            return self.backend.put_stream(
                stream, content_type=content_type, max_size=max_size, chunk_size=chunk_size
            )
        except FAILURES as exc:
            _count("put", exc)
            raise

    def open(
        self, key: str, *, expected_sha256: str | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        try:
            chunks = self.backend.open(key, expected_sha256=expected_sha256, chunk_size=chunk_size)
        except FAILURES as exc:
            _count("open", exc)
            raise
        return _MeteredChunks(chunks)

    def delete(self, key: str) -> None:
        try:
            self.backend.delete(key)
        except FAILURES as exc:
            _count("delete", exc)
            raise

    def exists(self, key: str) -> bool:
        try:
            return self.backend.exists(key)
        except FAILURES as exc:
            _count("exists", exc)
            raise

    def presigned_get_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None:
        return self.backend.presigned_get_url(
            key, filename=filename, content_type=content_type, expires=expires
        )

    def ping(self) -> bool:
        return self.backend.ping()

    def put_named(self, key: str, data: bytes, *, content_type: str) -> None:
        try:
            self.backend.put_named(key, data, content_type=content_type)
        except FAILURES as exc:
            _count("put", exc)
            raise

    def read_named(self, key: str) -> bytes:
        try:
            return self.backend.read_named(key)
        except FAILURES as exc:
            _count("open", exc)
            raise

    def list_named(self, folder: str) -> list[str]:
        try:
            return self.backend.list_named(folder)
        except FAILURES as exc:
            _count("list", exc)
            raise


class _MeteredChunks(Iterator[bytes]):
    """The backend's chunk stream; a failure while reading it counts as a ``read`` error."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except FAILURES as exc:
            _count("read", exc)
            raise

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
