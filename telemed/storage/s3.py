"""The S3 backend (boto3; any S3-compatible endpoint). The only module that imports botocore."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from telemed.content_disposition import attachment_header
from telemed.errors import EmptyFile, NotFound, StorageUnavailable
from telemed.storage.base import (
    DEFAULT_CHUNK,
    ChunkReader,
    ChunkStream,
    MiB,
    Readable,
    Storage,
    StoredObject,
    check_key,
    check_named_key,
    new_key,
    quietly,
    unavailable_on,
)

log = logging.getLogger(__name__)

S3_MIN_PART = 5 * MiB
_BACKEND_ERRORS = (ClientError, BotoCoreError, OSError)
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_SSE_REJECTED = frozenset(
    {
        "NotImplemented",
        "InvalidArgument",
        "InvalidRequest",
        "InvalidEncryptionAlgorithmError",
        "UnsupportedOperation",
    }
)
_NO_PUBLIC_ACCESS_BLOCK = frozenset(
    {"NotImplemented", "MethodNotAllowed", "InvalidRequest", "UnsupportedOperation", "XNotImplemented"}
)


def _backend() -> AbstractContextManager[None]:
    """Botocore and network failures become ``StorageUnavailable``."""
    return unavailable_on(*_BACKEND_ERRORS)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    """Objects in an S3 (or S3-compatible) bucket under an optional key prefix; private, SSE-S3."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        max_attempts: int = 3,
        connect_timeout: float = 5,
        read_timeout: float = 60,
        addressing_style: str | None = None,
        sse: bool | None = None,
        part_concurrency: int = 2,
    ):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.part_concurrency = max(1, part_concurrency)
        self._sse = sse  # None: try AES256 once and remember whether the endpoint accepts it
        if client is None:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session()  # credentials: the standard AWS env/config chain
            config = Config(
                signature_version="s3v4",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "max_attempts": max_attempts},
                s3={"addressing_style": addressing_style or ("path" if endpoint_url else "auto")},
            )
            client = session.client(
                "s3",
                endpoint_url=endpoint_url,
                config=config,
                region_name=region_name or session.region_name or "us-east-1",
            )
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
                log.warning("S3 endpoint rejects ServerSideEncryption (%s); storing without it", _code(exc))
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
                extra = (
                    {"CreateBucketConfiguration": {"LocationConstraint": region}}
                    if region and region != "us-east-1"
                    else {}
                )
                try:
                    s3.create_bucket(Bucket=bucket, **extra)
                except ClientError as exc2:
                    if _code(exc2) != "BucketAlreadyOwnedByYou":
                        raise
            try:
                s3.put_public_access_block(
                    Bucket=bucket,
                    PublicAccessBlockConfiguration={
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True,
                        "RestrictPublicBuckets": True,
                    },
                )
            except ClientError as exc:
                if _code(exc) not in _NO_PUBLIC_ACCESS_BLOCK:
                    raise

    def put_stream(
        self, stream: Readable, *, content_type: str, max_size: int, chunk_size: int = S3_MIN_PART
    ) -> StoredObject:
        """See :meth:`Storage.put_stream`; one ``put_object`` if the data fits in one chunk, else a
        multipart upload with ``chunk_size`` parts (at least 5 MiB, at most 10 000 parts), sent
        ``part_concurrency`` at a time while the next part is read (5 MiB parts, 2 at a time: the
        throughput of boto3's threaded ``upload_fileobj`` with about 20 MiB of parts in memory;
        see ``bench/bench_upload.py``)."""
        if chunk_size < S3_MIN_PART or max_size > chunk_size * 10_000:
            raise ValueError("S3 needs chunk_size >= 5 MiB and max_size <= 10 000 chunks")
        reader = ChunkReader(stream, chunk_size, max_size)
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
                    self._with_sse(self.client.put_object, **where, Body=chunk, ContentType=content_type)
                return reader.stored(key, content_type)
            with _backend():
                # Declaring the part checksum lets the server verify each part and skip
                # re-reading the whole object at completion.
                upload_id = self._with_sse(
                    self.client.create_multipart_upload,
                    **where,
                    ContentType=content_type,
                    ChecksumAlgorithm="CRC32",
                )["UploadId"]
            parts = self._upload_parts(where, upload_id, reader, chunk)
            del chunk
            maybe_written = True
            with _backend():
                self.client.complete_multipart_upload(
                    **where, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            return reader.stored(key, content_type)
        except BaseException:
            if upload_id is not None:
                quietly(self.client.abort_multipart_upload, **where, UploadId=upload_id)
            if maybe_written:
                quietly(self.client.delete_object, **where)
            raise

    def _upload_parts(
        self, where: dict[str, str], upload_id: str, reader: ChunkReader, first: bytes
    ) -> list[dict[str, Any]]:
        """Upload the parts of a multipart upload, up to ``part_concurrency`` at a time, while the next
        part is read from the client: at most ``part_concurrency + 1`` parts are held in memory.

        The first failure stops reading and is raised (as ``StorageUnavailable``) once every part
        in flight has finished; the caller aborts the upload.
        """

        def upload(number: int, body: bytes) -> dict[str, Any]:
            with _backend():
                reply = self.client.upload_part(
                    **where, UploadId=upload_id, PartNumber=number, Body=body, ChecksumAlgorithm="CRC32"
                )
            return {
                "ETag": reply["ETag"],
                "PartNumber": number,
                **({"ChecksumCRC32": reply["ChecksumCRC32"]} if "ChecksumCRC32" in reply else {}),
            }

        done: list[Future] = []
        running: set[Future] = set()
        with ThreadPoolExecutor(self.part_concurrency, thread_name_prefix="s3-part") as pool:
            chunk, number = first, 0
            try:
                while chunk:
                    number += 1
                    running.add(pool.submit(upload, number, chunk))
                    del chunk  # the part now belongs to its upload
                    if len(running) >= self.part_concurrency:
                        finished, running = wait(running, return_when=FIRST_COMPLETED)
                        done.extend(finished)
                    for f in done:
                        f.result()  # raise a failed part's error now: stop reading
                    chunk = reader.next()
            finally:
                done.extend(wait(running)[0])  # never leave a part running behind an abort
        return sorted((f.result() for f in done), key=lambda part: part["PartNumber"])

    def open(
        self, key: str, *, expected_sha256: str | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        body = self._body(self._full(key))
        return ChunkStream(key, body.read, body.close, chunk_size, expected_sha256, _BACKEND_ERRORS)

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

    def presigned_get_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None:
        """A SigV4 presigned GET that forces ``attachment`` disposition and ``content_type``."""
        params = {
            "Bucket": self.bucket,
            "Key": self._full(key),
            "ResponseContentDisposition": attachment_header(filename),
            "ResponseContentType": content_type,
        }
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def _full_named(self, key: str) -> str:
        check_named_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_named(self, key: str, data: bytes, *, content_type: str) -> None:
        full = self._full_named(key)
        with _backend():
            self._with_sse(
                self.client.put_object, Bucket=self.bucket, Key=full, Body=data, ContentType=content_type
            )

    def read_named(self, key: str) -> bytes:
        body = self._body(self._full_named(key))
        with _backend():
            try:
                return body.read()
            finally:
                body.close()

    def _body(self, full: str) -> Any:
        """The object's streaming body (``NotFound`` / ``StorageUnavailable`` right away)."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=full)["Body"]
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound() from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def list_named(self, folder: str) -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        with _backend():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{base}{folder}/"
            )
            for page in pages:
                keys.extend(item["Key"][len(base) :] for item in page.get("Contents", []))
        return sorted(keys)

    def ping(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError):
            return False
        return True
