"""Object storage for uploaded files: one :class:`Storage` interface (``base``), a local-directory
backend (``local``, the embedded default) and an S3 backend (``s3``, boto3), chosen by URL scheme.

Only the S3 backend imports boto3/botocore, and only when an ``s3://`` URL is configured.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from telemed.storage.base import InvalidKey, Readable, Storage, StoredObject, check_key
from telemed.storage.local import LocalStorage

__all__ = [
    "InvalidKey",
    "LocalStorage",
    "Readable",
    "Storage",
    "StoredObject",
    "check_key",
    "storage_from_url",
]


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
        from telemed.storage.s3 import S3Storage

        return S3Storage(parts.netloc, unquote(parts.path), endpoint_url=endpoint_url, **options)
    raise ValueError("storage URL must be file:///path or s3://bucket/prefix")
