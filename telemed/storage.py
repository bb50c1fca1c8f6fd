"""Object storage for uploaded files: one :class:`Storage` interface, a local-directory and an S3 backend.

Contract shared by both backends:

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
import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from telemed.content_disposition import attachment_header
from telemed.errors import EmptyFile, FileTooLarge, IntegrityFailure, NotFound, StorageUnavailable

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_CHUNK = 8 * MiB
S3_MIN_PART = 5 * MiB
_KEY_RE = re.compile(r"([0-9a-f]{2})/\1[0-9a-f]{30}")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_SSE_REJECTED = frozenset({"NotImplemented", "InvalidArgument", "InvalidRequest",
                           "InvalidEncryptionAlgorithmError", "UnsupportedOperation"})
_NO_PUBLIC_ACCESS_BLOCK = frozenset({"NotImplemented", "MethodNotAllowed", "InvalidRequest",
                                     "UnsupportedOperation", "XNotImplemented"})


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


@contextmanager
def _backend() -> Iterator[None]:
    """Translate backend/network errors into ``StorageUnavailable``."""
    try:
        yield
    except (ClientError, BotoCoreError, OSError) as exc:
        log.warning("storage backend error: %r", exc)
        raise StorageUnavailable() from exc


def _quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # cleanup must never mask the original error
        log.warning("storage cleanup failed: %r", exc)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _ChunkReader:
    """Reads an input stream in ``chunk_size`` chunks, hashing and enforcing ``max_size``."""

    def __init__(self, stream: BinaryIO, chunk_size: int, max_size: int):
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


class _ChunkStream(Iterator[bytes]):
    """Chunks from ``read``; verifies sha256 after the last one; always releases the source."""

    def __init__(self, key: str, read: Callable[[int], bytes], close: Callable[[], None],
                 chunk_size: int, expected_sha256: str | None):
        self._key, self._read, self._close, self._chunk = key, read, close, chunk_size
        self._expected = expected_sha256.lower() if expected_sha256 else None
        self._sha, self._done = hashlib.sha256(), False

    def __iter__(self) -> _ChunkStream:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        try:
            with _backend():
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
            _quietly(self._close)

    def __del__(self) -> None:
        self.close()


class Storage(abc.ABC):
    """Where uploaded files live. Implementations are safe to share between threads."""

    @abc.abstractmethod
    def put_stream(self, stream: BinaryIO, *, content_type: str, max_size: int,
                   chunk_size: int = DEFAULT_CHUNK) -> StoredObject:
        """Store ``stream`` under a new random key, reading at most ``max_size + 1`` bytes.

        Raises ``FileTooLarge`` (more than ``max_size`` bytes), ``EmptyFile`` (zero bytes),
        ``StorageUnavailable`` (backend error); errors from ``stream`` propagate unchanged.
        On any failure nothing is left in the storage.
        """

    @abc.abstractmethod
    def open(self, key: str, *, expected_sha256: str | None = None,
             chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
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
    def presigned_get_url(self, key: str, *, filename: str, content_type: str,
                          expires: int = 60) -> str | None:
        """A short-lived direct download URL, or None when the app must stream the bytes itself."""

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the backend is usable (health checks); never raises."""


class LocalStorage(Storage):
    """Files under a root directory; writes are atomic (temp file + ``os.replace``)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        if self.root not in path.resolve().parents:  # e.g. a symlinked fan-out directory
            raise InvalidKey("storage key escapes the root")
        return path

    def put_stream(self, stream: BinaryIO, *, content_type: str, max_size: int,
                   chunk_size: int = DEFAULT_CHUNK) -> StoredObject:
        reader = _ChunkReader(stream, chunk_size, max_size)
        key = new_key()
        final = self._path(key)
        tmp: str | None = None
        try:
            with _backend():
                final.parent.mkdir(mode=0o700, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
                out = os.fdopen(fd, "wb")
            with out:
                while chunk := reader.next():
                    with _backend():
                        out.write(chunk)
                    del chunk  # hold one chunk at a time, not two
                if reader.size == 0:
                    raise EmptyFile()
                with _backend():
                    out.flush()
                    os.fsync(out.fileno())
            with _backend():
                os.replace(tmp, final)
            tmp = None
        finally:
            if tmp is not None:
                _quietly(os.unlink, tmp)
        return reader.stored(key, content_type)

    def open(self, key: str, *, expected_sha256: str | None = None,
             chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFound() from exc
        except OSError as exc:
            raise StorageUnavailable() from exc
        return _ChunkStream(key, f.read, f.close, chunk_size, expected_sha256)

    def delete(self, key: str) -> None:
        with _backend():
            self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        with _backend():
            return self._path(key).is_file()

    def presigned_get_url(self, key: str, *, filename: str, content_type: str,
                          expires: int = 60) -> str | None:
        check_key(key)
        return None

    def ping(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)


class S3Storage(Storage):
    """Objects in an S3 (or S3-compatible) bucket under an optional key prefix; private, SSE-S3."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None,
                 endpoint_url: str | None = None, region_name: str | None = None,
                 max_attempts: int = 3, connect_timeout: float = 5, read_timeout: float = 60,
                 addressing_style: str | None = None, sse: bool | None = None):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._sse = sse  # None: try AES256 once and remember whether the endpoint accepts it
        if client is None:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session()  # credentials: the standard AWS env/config chain
            config = Config(signature_version="s3v4", connect_timeout=connect_timeout,
                            read_timeout=read_timeout,
                            retries={"mode": "standard", "max_attempts": max_attempts},
                            s3={"addressing_style": addressing_style
                                or ("path" if endpoint_url else "auto")})
            client = session.client("s3", endpoint_url=endpoint_url, config=config,
                                    region_name=region_name or session.region_name or "us-east-1")
        self.client = client

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _with_sse(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        if self._sse is not False:
            try:
                result = method(**kwargs, ServerSideEncryption="AES256")
            except ClientError as exc:
                if self._sse is True or _code(exc) not in _SSE_REJECTED:
                    raise
                log.warning("S3 endpoint rejects ServerSideEncryption (%s); storing without it",
                            _code(exc))
                self._sse = False
            else:
                self._sse = True
                return result
        return method(**kwargs)

    def ensure_bucket(self) -> None:
        """Create the bucket if missing and block all public access where supported."""
        s3, bucket = self.client, self.bucket
        with _backend():
            try:
                s3.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if _code(exc) not in _MISSING | {"NoSuchBucket"}:
                    raise
                region = s3.meta.region_name
                extra = ({"CreateBucketConfiguration": {"LocationConstraint": region}}
                         if region and region != "us-east-1" else {})
                try:
                    s3.create_bucket(Bucket=bucket, **extra)
                except ClientError as exc2:
                    if _code(exc2) != "BucketAlreadyOwnedByYou":
                        raise
            try:
                s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
            except ClientError as exc:
                if _code(exc) not in _NO_PUBLIC_ACCESS_BLOCK:
                    raise

    def put_stream(self, stream: BinaryIO, *, content_type: str, max_size: int,
                   chunk_size: int = DEFAULT_CHUNK) -> StoredObject:
        """See :meth:`Storage.put_stream`; one ``put_object`` if the data fits in one chunk, else a
        multipart upload with ``chunk_size`` parts (at least 5 MiB, at most 10 000 parts)."""
        if chunk_size < S3_MIN_PART or max_size > chunk_size * 10_000:
            raise ValueError("S3 needs chunk_size >= 5 MiB and max_size <= 10 000 chunks")
        reader = _ChunkReader(stream, chunk_size, max_size)
        key = new_key()
        where = {"Bucket": self.bucket, "Key": self._full(key)}
        upload_id: str | None = None
        maybe_written = False
        try:
            chunk = reader.next()
            if not chunk:
                raise EmptyFile()
            if len(chunk) < chunk_size:
                maybe_written = True
                with _backend():
                    self._with_sse(self.client.put_object, **where, Body=chunk,
                                   ContentType=content_type)
                return reader.stored(key, content_type)
            with _backend():
                upload_id = self._with_sse(self.client.create_multipart_upload, **where,
                                           ContentType=content_type)["UploadId"]
            parts: list[dict[str, Any]] = []
            while chunk:
                number = len(parts) + 1
                with _backend():
                    etag = self.client.upload_part(**where, UploadId=upload_id, PartNumber=number,
                                                   Body=chunk)["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
                del chunk  # hold one chunk at a time, not two
                chunk = reader.next()
            maybe_written = True
            with _backend():
                self.client.complete_multipart_upload(**where, UploadId=upload_id,
                                                      MultipartUpload={"Parts": parts})
            return reader.stored(key, content_type)
        except BaseException:
            if upload_id is not None:
                _quietly(self.client.abort_multipart_upload, **where, UploadId=upload_id)
            if maybe_written:
                _quietly(self.client.delete_object, **where)
            raise

    def open(self, key: str, *, expected_sha256: str | None = None,
             chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        full = self._full(key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=full)["Body"]
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound() from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
        return _ChunkStream(key, body.read, body.close, chunk_size, expected_sha256)

    def delete(self, key: str) -> None:
        with _backend():
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def exists(self, key: str) -> bool:
        full = self._full(key)
        with _backend():
            try:
                self.client.head_object(Bucket=self.bucket, Key=full)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return False
                raise
        return True

    def presigned_get_url(self, key: str, *, filename: str, content_type: str,
                          expires: int = 60) -> str | None:
        """A SigV4 presigned GET that forces ``attachment`` disposition and ``content_type``."""
        params = {"Bucket": self.bucket, "Key": self._full(key),
                  "ResponseContentDisposition": attachment_header(filename),
                  "ResponseContentType": content_type}
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def ping(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError):
            return False
        return True


def storage_from_url(url: str, *, endpoint_url: str | None = None, **options: Any) -> Storage:
    """``file:///abs/dir`` -> :class:`LocalStorage`; ``s3://bucket[/prefix]`` -> :class:`S3Storage`.

    ``endpoint_url`` and ``options`` (``max_attempts``, ``connect_timeout``, ``read_timeout``,
    ``region_name``, ``addressing_style``, ``sse``) apply to S3 only; ``endpoint_url`` is ignored
    for ``file:``. Raises ``ValueError`` for any other URL.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError("file storage URL must be file:///absolute/path")
        if options:
            raise TypeError(f"unexpected options for file storage: {sorted(options)}")
        return LocalStorage(path)
    if parts.scheme == "s3" and parts.netloc:
        return S3Storage(parts.netloc, unquote(parts.path), endpoint_url=endpoint_url, **options)
    raise ValueError("storage URL must be file:///path or s3://bucket/prefix")
