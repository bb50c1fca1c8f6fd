"""The local-directory backend (the embedded default): files under one root, written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from telemed.errors import EmptyFile, NotFound, StorageUnavailable
from telemed.storage.base import (
    DEFAULT_CHUNK,
    ChunkReader,
    ChunkStream,
    InvalidKey,
    Readable,
    Storage,
    StoredObject,
    check_key,
    check_named_key,
    new_key,
    quietly,
    unavailable_on,
)


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

    def put_stream(
        self, stream: Readable, *, content_type: str, max_size: int, chunk_size: int = DEFAULT_CHUNK
    ) -> StoredObject:
        reader = ChunkReader(stream, chunk_size, max_size)
        key = new_key()
        final = self._path(key)
        tmp: str | None = None
        try:
            with unavailable_on(OSError):
                final.parent.mkdir(mode=0o700, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
                out = os.fdopen(fd, "wb")
            with out:
                while chunk := reader.next():
                    with unavailable_on(OSError):
                        out.write(chunk)
                    del chunk  # hold one chunk at a time, not two
                if reader.size == 0:
                    raise EmptyFile()
                with unavailable_on(OSError):
                    out.flush()
                    os.fsync(out.fileno())
            with unavailable_on(OSError):
                os.replace(tmp, final)
            tmp = None
        finally:
            if tmp is not None:
                quietly(os.unlink, tmp)
        return reader.stored(key, content_type)

    def open(
        self, key: str, *, expected_sha256: str | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFound() from exc
        except OSError as exc:
            raise StorageUnavailable() from exc
        return ChunkStream(key, f.read, f.close, chunk_size, expected_sha256)

    def delete(self, key: str) -> None:
        with unavailable_on(OSError):
            self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        with unavailable_on(OSError):
            return self._path(key).is_file()

    def presigned_get_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None:
        check_key(key)
        return None

    def ping(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)

    def _named(self, key: str) -> Path:
        return self.root / check_named_key(key)

    def put_named(self, key: str, data: bytes, *, content_type: str) -> None:
        final = self._named(key)
        tmp: str | None = None
        try:
            with unavailable_on(OSError):
                final.parent.mkdir(mode=0o700, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, final)
            tmp = None
        finally:
            if tmp is not None:
                quietly(os.unlink, tmp)

    def read_named(self, key: str) -> bytes:
        try:
            return self._named(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound() from exc
        except OSError as exc:
            raise StorageUnavailable() from exc

    def list_named(self, folder: str) -> list[str]:
        directory = self.root / folder
        with unavailable_on(OSError):
            if not directory.is_dir():
                return []
            names = [p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
        return sorted(f"{folder}/{name}" for name in names if _valid_named(f"{folder}/{name}"))


def _valid_named(key: str) -> bool:
    try:
        check_named_key(key)
    except InvalidKey:
        return False
    return True
