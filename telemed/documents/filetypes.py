"""Decide a document's type from its bytes, and keep user-supplied file names safe to store.

The declared ``Content-Type`` and the file name are never trusted: :func:`sniff` decides the type
from the leading bytes and answers one canonical MIME type from :data:`ALLOWED_TYPES` or ``None``;
a text file is then read whole by :class:`TextCheck` (markup or binary anywhere refuses it), and a
file name keeps an extension of its sniffed type (:func:`filename_for`).
"""

from __future__ import annotations

import codecs
import os
import re
import unicodedata

from telemed.errors import EmptyFile, UnsupportedType
from telemed.storage.base import Readable

#: How many leading bytes :func:`sniff` needs to decide (it accepts fewer for short files).
SNIFF_BYTES = 4096

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
HEIC, HEIF, DICOM, TEXT = "image/heic", "image/heif", "application/dicom", "text/plain"
#: The canonical MIME types :func:`sniff` can return.
ALLOWED_TYPES: frozenset[str] = frozenset({PDF, JPEG, PNG, HEIC, HEIF, DICOM, TEXT})
#: The file name extensions each type may keep; the first is given to a name without one of them.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
    HEIC: (".heic",),
    HEIF: (".heif", ".heic"),
    DICOM: (".dcm", ".dicom"),
    TEXT: (".txt",),
}
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}")

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
# Anything that a browser (or an old content-sniffing one) might treat as markup or script.
_MARKUP = (
    "<script",
    "<svg",
    "<html",
    "<!doctype",
    "<?xml",
    "<iframe",
    "<body",
    "<head",
    "<img",
    "<object",
    "<embed",
    "<meta",
    "<style",
    "<title",
    "<!--",
)
_TEXT_CONTROLS_OK = frozenset("\t\n\r\f")
_WS = re.compile(r"\s+")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_NAME_CHARS = 200


def sniff(head: bytes) -> str | None:
    """Canonical MIME type of a file whose first bytes are ``head`` (pass :data:`SNIFF_BYTES`), or None.

    Only PDF, JPEG, PNG, HEIC/HEIF, DICOM and plain UTF-8 text are recognised; markup (HTML, SVG, XML,
    script) is never accepted, whatever the file is called. AVIF and other ISO-BMFF files are rejected.
    """
    if not head:
        return None
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if head[4:8] == b"ftyp":
        return _sniff_heif(head)
    return TEXT if _is_plain_text(head) else None


def _sniff_heif(head: bytes) -> str | None:
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4:
        return None
    major = head[8:12]
    box = head[16 : min(size, len(head))]
    brands = {major} | {box[i : i + 4] for i in range(0, len(box) - 3, 4)}
    if brands & _HEIC_BRANDS:
        return HEIC
    return HEIF if major in _HEIF_BRANDS else None


def _is_plain_text(head: bytes) -> bool:
    return TextCheck().feed(head)  # not final: a multibyte character cut off by the head's end is fine


class TextCheck:
    """Plain UTF-8 text, checked chunk by chunk over a whole file: valid UTF-8, no control character
    but tab, line breaks and form feed, not starting with ``<`` and none of :data:`_MARKUP` anywhere
    (across chunk borders too). ``feed`` answers whether the text is still plain; pass
    ``final=True`` with the last chunk."""

    _KEEP = max(len(tag) for tag in _MARKUP) - 1  # the tail a tag could continue from

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._tail = ""
        self._started = False
        self.plain = True

    def feed(self, data: bytes, *, final: bool = False) -> bool:
        if not self.plain:
            return False
        try:
            text = self._decoder.decode(data, final=final)
        except UnicodeDecodeError:
            self.plain = False
            return False
        if any(unicodedata.category(c) == "Cc" and c not in _TEXT_CONTROLS_OK for c in text):
            self.plain = False  # includes NUL and DEL
            return False
        if not self._started:
            stripped = text.lstrip("\ufeff \t\n\r\f")
            self._started = bool(stripped)
            if stripped.startswith("<"):
                self.plain = False
                return False
        window = (self._tail + text).lower()
        if any(tag in window for tag in _MARKUP):
            self.plain = False
            return False
        self._tail = window[-self._KEEP :]
        return True


def require_allowed(head: bytes) -> str:
    """Like :func:`sniff` but raises ``EmptyFile`` / ``UnsupportedType`` instead of returning None."""
    if not head:
        raise EmptyFile()
    mime = sniff(head)
    if mime is None:
        raise UnsupportedType()
    return mime


class _Replay:
    """A read-only binary stream that returns ``head`` first, then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: Readable):
        self._head, self._stream = head, stream

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._stream.read(n)


def sniff_stream(stream: Readable) -> tuple[str, Readable]:
    """Read up to :data:`SNIFF_BYTES` from ``stream`` and check its type (see :func:`require_allowed`).

    Returns the MIME type and a stream yielding the whole content again (head included), ready for
    ``Storage.put_stream``. Errors raised by ``stream`` propagate unchanged.
    """
    parts: list[bytes] = []
    got = 0
    while got < SNIFF_BYTES:
        data = stream.read(SNIFF_BYTES - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    head = b"".join(parts)
    return require_allowed(head), _Replay(head, stream)


#: What a profile photo may be (a doctor's): sniffed, never declared.
IMAGE_TYPES: frozenset[str] = frozenset({JPEG, PNG})


def sniff_image_stream(stream: Readable) -> tuple[str, Readable]:
    """:func:`sniff_stream` for a photo: PNG or JPEG only (``UnsupportedType`` for anything else)."""
    content_type, replay = sniff_stream(stream)
    if content_type not in IMAGE_TYPES:
        raise UnsupportedType()
    return content_type, replay


def filename_for(name: str, content_type: str) -> str:
    """:func:`safe_filename` of ``name`` with an extension of ``content_type``: one it already has is
    kept, another is replaced (``report.html`` holding a PDF becomes ``report.pdf``), none is added."""
    name = safe_filename(name)
    allowed = EXTENSIONS.get(content_type)
    if not allowed:
        return name
    root, ext = os.path.splitext(name)
    if ext.lower() in allowed:
        return name
    if not _EXTENSION.fullmatch(ext) or not root:
        root = name
    return root[: MAX_NAME_CHARS - len(allowed[0])].rstrip() + allowed[0]


def safe_filename(name: str) -> str:
    """A display name safe to store and show: no directories, no control/bidi characters, whitespace
    collapsed, NFC-normalised, at most 200 characters (keeping the extension), ``"file"`` if empty.

    Unicode letters (e.g. Cyrillic) are kept. The result is for display only; storage keys are random.
    """
    name = unicodedata.normalize("NFC", str(name))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) != "Cc")
    name = _WS.sub(" ", _BIDI.sub("", name)).strip()
    if name in ("", ".", ".."):
        return "file"
    if len(name) > MAX_NAME_CHARS:
        root, ext = os.path.splitext(name)
        if ext and len(ext) <= 16:
            name = root[: MAX_NAME_CHARS - len(ext)].rstrip() + ext
        else:
            name = name[:MAX_NAME_CHARS].rstrip()
    return name
