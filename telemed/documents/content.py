"""The checks a document's whole content must pass before it is stored (after :func:`sniff_stream`).

- Plain text is checked as it streams to storage (``filetypes.TextCheck``): markup or binary
  anywhere, not only in the first 4 KiB, refuses it with ``UnsupportedType``, and storage keeps
  nothing of it.
- A PDF is spooled to a temporary file first (at most ``max_size`` bytes, ``FileTooLarge``
  beyond) and checked for scripts (``pdfcheck``, ``UnsafeDocument``) before a byte is stored.
- Other types pass unchanged.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from telemed.documents.filetypes import PDF, TEXT, TextCheck
from telemed.documents.pdfcheck import require_no_javascript
from telemed.errors import FileTooLarge, UnsupportedType
from telemed.storage import Readable

SPOOL_IN_MEMORY = 1024 * 1024  # a PDF up to this size is spooled in memory, beyond it on disk
_COPY_CHUNK = 1024 * 1024


class _CheckedText:
    """Passes the stream's bytes through, checking them as plain text; the end of the stream
    finishes the check, so storage never completes an object that fails it."""

    def __init__(self, stream: Readable):
        self._stream, self._check = stream, TextCheck()

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if not self._check.feed(data, final=not data):
            raise UnsupportedType()
        return data


@contextmanager
def checked(content_type: str, stream: Readable, *, max_size: int) -> Iterator[Readable]:
    """``stream`` (whole content, already sniffed as ``content_type``) as a stream that passes
    the checks above; use it inside the ``with`` block."""
    if content_type == TEXT:
        yield _CheckedText(stream)
        return
    if content_type != PDF:
        yield stream
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        size = 0
        while chunk := stream.read(_COPY_CHUNK):
            size += len(chunk)
            if size > max_size:
                raise FileTooLarge(details={"max_size": max_size})
            spool.write(chunk)
        spool.seek(0)
        require_no_javascript(spool)
        spool.seek(0)
        yield spool
