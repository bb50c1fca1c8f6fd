"""User-facing text that the domain writes and the edge translates (no Flask here).

Domain code never formats a message for a person itself: it writes ``_l("English text with
%(name)s placeholders", name=value)``, a :class:`Text` holding the English message id and its
named parameters. ``pybabel extract -k _l`` finds every such id; pages, the JSON API and socket
acks render it in the reader's language (:meth:`Text.render`). ``str(text)`` is the English text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"


class Text:
    """An English message id with named parameters, translated when rendered."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, params: Mapping[str, object] | None = None) -> None:
        self.msgid = msgid
        self.params = dict(params or {})

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message in the language of ``gettext`` (English without one), parameters filled in."""
        template = gettext(self.msgid) if gettext else self.msgid
        return template % self.params if self.params else template

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.msgid, self.params) == (other.msgid, other.params)

    def __hash__(self) -> int:
        return hash(self.msgid)


def _l(msgid: str, **params: object) -> Text:
    """Mark ``msgid`` for translation (``pybabel extract -k _l``); parameters are named, ``%(name)s``."""
    return Text(msgid, params)


def render(message: str | Text, gettext: Callable[[str], str] | None = None) -> str:
    """A message for a person: a :class:`Text` translated with ``gettext``, a plain string as is."""
    return message.render(gettext) if isinstance(message, Text) else message


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of ``locale`` (English: the message ids themselves), for code that runs
    outside a Flask request, such as the Socket.IO chat hot path."""
    return Translations.load(str(TRANSLATIONS_DIR), [locale])
