"""Build ``Content-Disposition: attachment`` header values (RFC 6266 with RFC 5987 ``filename*``)."""

from __future__ import annotations

import os
import re
import unicodedata
from urllib.parse import quote

_MAX_CHARS = 200
# RFC 5987 attr-char minus the alphanumerics, which quote() keeps anyway.
_ATTR_CHARS = "!#$&+-.^_`|~"
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_WS = re.compile(r"\s+")


def _clean(filename: str) -> str:
    name = unicodedata.normalize("NFC", str(filename))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) != "Cc")
    name = _WS.sub(" ", _BIDI.sub("", name)).strip()
    if name in ("", ".", ".."):
        return "file"
    if len(name) > _MAX_CHARS:
        root, ext = os.path.splitext(name)
        keep = ext if ext and len(ext) <= 16 else ""
        name = name[: _MAX_CHARS - len(keep)] if not keep else root[: _MAX_CHARS - len(keep)] + keep
    return name


def _ascii_fallback(name: str) -> str:
    return "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)


def attachment_header(filename: str) -> str:
    """The value of a ``Content-Disposition`` header that downloads ``filename`` as an attachment.

    Directory parts, control characters (CR/LF/NUL) and bidi overrides are dropped and the name is
    capped at 200 characters. ``filename="..."`` is always present as an ASCII fallback (anything
    outside printable ASCII, ``"``, ``\\`` and ``%`` become ``_``); ``filename*=UTF-8''...`` carries
    the exact name whenever the fallback differs from it. The result is pure ASCII.
    """
    name = _clean(filename)
    fallback = _ascii_fallback(name)
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe=_ATTR_CHARS, encoding="utf-8")
    return value
