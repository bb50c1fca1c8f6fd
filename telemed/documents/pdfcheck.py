"""Refuse PDFs that carry JavaScript: a document a patient or a doctor opens must not run code.

:func:`require_no_javascript` reads the whole PDF with pypdf and looks at every object its
cross-reference lists (those packed in compressed object streams included) and the trailer: a
``/JS`` or ``/JavaScript`` key or name anywhere (a JavaScript action, the document-level script
name tree, an ``/OpenAction`` running one) or an ``/AA`` key (actions run on opening, closing,
printing a page or a field) refuses it with ``UnsafeDocument``. A PDF pypdf cannot read is
scanned byte by byte for those names instead (``#xx`` escapes decoded); one encrypted with a
password cannot be checked and is refused.
"""

from __future__ import annotations

import logging
import re
from typing import IO

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

from telemed.errors import UnsafeDocument
from telemed.translatable import _l

log = logging.getLogger(__name__)

#: Names that mark a script or an automatic action, as keys or as values (``/S /JavaScript``).
SCRIPT_NAMES = frozenset({"/JS", "/JavaScript", "/AA"})
_MAX_DEPTH = 64  # nesting deeper than any real document: refused rather than walked
_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]{1,127}")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_RAW_CHUNK, _OVERLAP = 1024 * 1024, 128


def require_no_javascript(fh: IO[bytes]) -> None:
    """Raise ``UnsafeDocument`` unless the PDF in ``fh`` (seekable) is readable and has no script."""
    try:
        reader = PdfReader(fh, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsafeDocument(
                _l("A password-protected PDF cannot be checked; upload it without the password.")
            )
        found = _scripted(reader.trailer, 0) or any(_scripted(obj, 0) for obj in _objects(reader))
    except UnsafeDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        log.info("a PDF pypdf cannot read is scanned raw: %s", type(exc).__name__)
        fh.seek(0)
        found = _raw_names_scripted(fh)
    if found:
        raise UnsafeDocument()


def _raw_names_scripted(fh: IO[bytes]) -> bool:
    """Whether any PDF name token in the bytes (escapes decoded) is a script name."""
    carry = b""
    while chunk := fh.read(_RAW_CHUNK):
        data = carry + chunk
        for match in _NAME.finditer(data):
            name = _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), match[0])
            if name.decode("latin-1") in SCRIPT_NAMES:
                return True
        carry = data[-_OVERLAP:]
    return False


def _objects(reader: PdfReader):
    """Every object the cross-reference names (plain and in object streams), resolved one by one."""
    numbers: set[tuple[int, int]] = set()
    for generation, entries in reader.xref.items():
        numbers.update((num, generation) for num in entries)
    numbers.update((num, 0) for num in reader.xref_objStm)
    for num, generation in sorted(numbers):
        obj = reader.get_object(IndirectObject(num, generation, reader))
        if obj is not None:
            yield obj


def _scripted(obj: PdfObject | None, depth: int) -> bool:
    """Whether ``obj`` holds a script name, without following references (every object is walked)."""
    if depth > _MAX_DEPTH:
        return True
    if isinstance(obj, NameObject):
        return str(obj) in SCRIPT_NAMES
    if isinstance(obj, DictionaryObject):  # a stream's dictionary too; its data is not code
        return any(
            str(key) in SCRIPT_NAMES or _scripted(value, depth + 1)
            for key, value in obj.items()
            if not isinstance(value, IndirectObject) or str(key) in SCRIPT_NAMES
        )
    if isinstance(obj, ArrayObject):
        return any(_scripted(item, depth + 1) for item in obj if not isinstance(item, IndirectObject))
    return False
