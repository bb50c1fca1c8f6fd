"""The storage contract: :class:`Storage`, the objects it returns, keys, and chunked hashing I/O.

Contract shared by every backend:

- Keys are generated here (``"ab/<uuid4 hex>"``, the 2-char fan-out being the hex's first two chars),
  never derived from user input; every method rejects any other key with :class:`InvalidKey`.
- ``put_stream`` reads chunk by chunk (memory bounded by ``chunk_size``, never by the file size),
  hashes while streaming and leaves nothing behind on any failure.
- Backend/network failures surface as ``StorageUnavailable``; errors raised by the caller's input
  stream propagate unchanged.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from telemed.errors import FileTooLarge, IntegrityFailure, StorageUnavailable

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_CHUNK = 8 * MiB
_KEY_RE = re.compile(r"([0-9a-f]{2})/\1[0-9a-f]{30}")
#: Named objects (the app's own records, e.g. ``audit-checkpoints/000000000001.json``): a folder of
#: lower-case letters and dashes, then a file name; never the shape of an upload's random key.
_NAMED_RE = re.compile(r"[a-z][a-z-]{2,40}/[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


class Readable(Protocol):
    """A byte stream to store: a file, a request body, a multipart reader."""

    def read(self, size: int = -1, /) -> bytes: ...


class InvalidKey(ValueError):
    """A key this module could not have generated (a bug or tampering); never a user error."""


@dataclass(frozen=True)
class StoredObject:
    """What ``put_stream`` stored: keep all four on the owning row."""

    key: str
    size: int
    sha256: str  # hex
    content_type: str


def new_key() -> str:
    """A fresh random key: 2-char fan-out prefix + ``/`` + uuid4 hex."""
    h = uuid.uuid4().hex
    return f"{h[:2]}/{h}"


def check_key(key: object) -> str:
    """Return ``key`` if it has the generated shape, else raise :class:`InvalidKey`."""
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise InvalidKey("invalid storage key")
    return key


def check_named_key(key: object) -> str:
    """Return ``key`` if it is a valid named key (see ``_NAMED_RE``), else raise :class:`InvalidKey`."""
    if not isinstance(key, str) or not _NAMED_RE.fullmatch(key) or ".." in key:
        raise InvalidKey("invalid named storage key")
    return key


@contextmanager
def unavailable_on(*errors: type[BaseException]) -> Iterator[None]:
    """Translate the backend's own failures (``errors``) into ``StorageUnavailable``."""
    try:
        yield
    except errors as exc:
        log.warning("storage backend error: %r", exc)
        raise StorageUnavailable() from exc


def quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run a cleanup step; log, never raise (cleanup must never mask the original error)."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        log.warning("storage cleanup failed: %r", exc)


class ChunkReader:
    """Reads an input stream in ``chunk_size`` chunks, hashing and enforcing ``max_size``."""

    def __init__(self, stream: Readable, chunk_size: int, max_size: int):
        if chunk_size <= 0 or max_size <= 0:
            raise ValueError("chunk_size and max_size must be positive")
        self.stream, self.chunk_size, self.max_size = stream, chunk_size, max_size
        self.size, self.sha = 0, hashlib.sha256()

    def next(self) -> bytes:
        """The next chunk; shorter than ``chunk_size`` only at the end (``b""`` once exhausted).

        Never reads more than ``max_size + 1`` bytes in total; raises ``FileTooLarge`` beyond it.
        """
        want = min(self.chunk_size, self.max_size + 1 - self.size)
        parts: list[bytes] = []
        got = 0
        while got < want:
            data = self.stream.read(want - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        chunk = parts[0] if len(parts) == 1 else b"".join(parts)
        self.size += got
        if self.size > self.max_size:
            raise FileTooLarge(details={"max_size": self.max_size})
        self.sha.update(chunk)
        return chunk

    def stored(self, key: str, content_type: str) -> StoredObject:
        return StoredObject(key, self.size, self.sha.hexdigest(), content_type)


class ChunkStream(Iterator[bytes]):
    """Chunks from ``read``; verifies sha256 after the last one; always releases the source.

    ``backend_errors`` raised by ``read`` become ``StorageUnavailable``.
    """

    def __init__(
        self,
        key: str,
        read: Callable[[int], bytes],
        close: Callable[[], None],
        chunk_size: int,
        expected_sha256: str | None,
        backend_errors: tuple[type[BaseException], ...] = (OSError,),
    ):
        self._errors = backend_errors
        self._key, self._read, self._close, self._chunk = key, read, close, chunk_size
        self._expected = expected_sha256.lower() if expected_sha256 else None
        self._sha, self._done = hashlib.sha256(), False

    def __iter__(self) -> ChunkStream:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        try:
            with unavailable_on(*self._errors):
                data = self._read(self._chunk)
        except BaseException:
            self.close()
            raise
        if data:
            self._sha.update(data)
            return data
        self.close()
        if self._expected and self._sha.hexdigest() != self._expected:
            log.error("storage integrity failure for key %s", self._key)
            raise IntegrityFailure(details={"key": self._key})
        raise StopIteration

    def close(self) -> None:
        """Release the underlying file/connection (idempotent; WSGI servers call it)."""
        if not getattr(self, "_done", True):
            self._done = True
            quietly(self._close)

    def __del__(self) -> None:
        self.close()


class Storage(abc.ABC):
    """Where uploaded files live. Implementations are safe to share between threads."""

    @abc.abstractmethod
    def put_stream(
        self, stream: Readable, *, content_type: str, max_size: int, chunk_size: int = DEFAULT_CHUNK
    ) -> StoredObject:
        """Store ``stream`` under a new random key, reading at most ``max_size + 1`` bytes.

        Raises ``FileTooLarge`` (more than ``max_size`` bytes), ``EmptyFile`` (zero bytes),
        ``StorageUnavailable`` (backend error); errors from ``stream`` propagate unchanged.
        On any failure nothing is left in the storage.
        """

    @abc.abstractmethod
    def open(
        self, key: str, *, expected_sha256: str | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        """Stream the object's bytes (``NotFound`` / ``StorageUnavailable`` are raised right away).

        With ``expected_sha256``, ``IntegrityFailure`` is raised after the last chunk on mismatch
        (earlier chunks have been yielded by then). Call ``close()`` on the result if abandoned.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether the object exists (``StorageUnavailable`` if that cannot be told)."""

    @abc.abstractmethod
    def presigned_get_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None:
        """A short-lived direct download URL, or None when the app must stream the bytes itself."""

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the backend is usable (health checks); never raises."""

    @abc.abstractmethod
    def put_named(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store ``data`` whole under the named ``key`` (``check_named_key``), replacing any object
        there; ``StorageUnavailable`` on a backend error (then the old object, if any, is intact)."""

    @abc.abstractmethod
    def read_named(self, key: str) -> bytes:
        """The named object's bytes; ``NotFound`` / ``StorageUnavailable``."""

    @abc.abstractmethod
    def list_named(self, folder: str) -> list[str]:
        """The named keys in ``folder`` (e.g. ``"audit-checkpoints"``), sorted."""
