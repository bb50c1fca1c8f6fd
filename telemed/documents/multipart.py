"""Read one file field of a ``multipart/form-data`` body as a stream, without buffering the file.

Werkzeug's form parser spools whole files before the view runs; uploads here go straight from the
socket to object storage instead, so memory stays flat whatever the file size.
"""

from __future__ import annotations

from typing import IO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder

from telemed import errors
from telemed.translatable import _l

READ_SIZE = 256 * 1024
MAX_PARTS = 20


class MultipartFileReader:
    """File-like ``read(n)`` over the data of the form field ``field``; ``filename`` is the client's name."""

    def __init__(self, body: IO[bytes], content_type: str | None, field: str = "file"):
        mimetype, options = parse_options_header(content_type or "")
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary:
            raise errors.BadRequest(_l("Send the file as multipart/form-data in the field 'file'."))
        self._body = body
        self._decoder = MultipartDecoder(
            boundary.encode("latin-1"), max_form_memory_size=READ_SIZE * 4, max_parts=MAX_PARTS
        )
        self._field = field
        self._buffer = bytearray()
        self._eof = False
        self._done = False
        self.filename = ""
        self._seek_file()

    def _event(self):
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:  # werkzeug's word for a malformed body
                raise errors.BadRequest(_l("Malformed multipart body.")) from exc
            if event is not NEED_DATA:
                return event
            if self._eof:
                raise errors.BadRequest(_l("The multipart body ended too early."))
            chunk = self._body.read(READ_SIZE)
            if not chunk:
                self._eof = True
                self._decoder.receive_data(None)
            else:
                self._decoder.receive_data(chunk)

    def _seek_file(self) -> None:
        skipping = False
        while True:
            event = self._event()
            if isinstance(event, File) and event.name == self._field:
                self.filename = event.filename or ""
                return
            if isinstance(event, (Field, File)):
                skipping = True
            elif isinstance(event, Data) and skipping:
                skipping = event.more_data
            elif isinstance(event, Epilogue):
                raise errors.ValidationFailed(_l("The form has no 'file' field."), details={"field": "file"})

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buffer) < n):
            event = self._event()
            if not isinstance(event, Data):
                raise errors.BadRequest(_l("Malformed multipart body."))
            self._buffer += event.data
            if not event.more_data:
                self._done = True
        if n < 0 or n >= len(self._buffer):
            out, self._buffer = bytes(self._buffer), bytearray()
        else:
            with memoryview(self._buffer) as view:
                out = bytes(view[:n])  # one copy; no intermediate slice
            del self._buffer[:n]
        return out
