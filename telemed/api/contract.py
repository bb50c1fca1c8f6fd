"""The API's inputs and operations, declared once.

Handlers read their input through these declarations (``Body.read()``, ``Param.read()``) and mark
themselves with ``@documented(...)``; ``api/openapi.py`` builds the OpenAPI document from the same
objects and from the URL map. So the limits the document publishes (lengths, ranges, allowed
values, required fields) are the ones the server enforces, and every route has its operation.

A few bodies are checked inside their service (a conclusion, a visit, a chat message): their
declarations here take the limits from that service's constants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import request

from telemed import errors, inputs
from telemed.api import parsing
from telemed.translatable import _l

F = TypeVar("F", bound=Callable[..., Any])

_C, _S = inputs.CONTROL_CHARS, inputs.SPACE_CHARS
#: Text: none of ``inputs.CONTROL_CHARS``.
TEXT_PATTERN = f"^[^{_C}]*$"


def trimmed_at_least(n: int) -> str:
    """A pattern for text (``TEXT_PATTERN``) of at least ``n`` characters once trimmed (n >= 1)."""
    if n == 1:
        return f"^[^{_C}]*[^{_C}{_S}][^{_C}]*$"
    return f"^[{_S}]*[^{_C}{_S}][^{_C}]{{{n - 2},}}[^{_C}{_S}][{_S}]*$"


#: The largest whole number a JSON id field takes (larger ones are refused; those beyond the id
#: columns' range, ``inputs.ID_MAX``, are valid and name no row).
JSON_ID_MAX = 2**63 - 1
DATE_TIME = {"type": "string", "format": "date-time"}


# --- body fields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text field: at most ``max_len`` characters once line breaks are normalised and the ends
    trimmed, no control characters; ``required`` text must not be blank."""

    name: str
    max_len: int
    required: bool = False
    description: str | None = None

    def schema(self) -> dict:
        s: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
        if self.required:
            s |= {"minLength": 1, "pattern": trimmed_at_least(1)}
        else:
            s |= {"type": ["string", "null"], "pattern": TEXT_PATTERN}
        return _described(s, self.description)

    def read(self, data: dict) -> str:
        return parsing.field_str(data, self.name, required=self.required, max_len=self.max_len)


@dataclass(frozen=True)
class Secret:
    """A secret as typed (a password): at most ``max_len`` characters, kept exactly, spaces at the
    ends included; no control characters; never empty."""

    name: str
    max_len: int
    description: str | None = None
    required = True

    def schema(self) -> dict:
        return _described(
            {"type": "string", "minLength": 1, "maxLength": self.max_len, "pattern": TEXT_PATTERN},
            self.description,
        )

    def read(self, data: dict) -> str:
        value = parsing.field_str(data, self.name, required=False, max_len=self.max_len, strip=False)
        if not value:
            raise errors.ValidationFailed(
                _l("'%(name)s' is required.", name=self.name), details={"field": self.name}
            )
        return value


@dataclass(frozen=True)
class Id:
    """A positive whole-number id; one beyond the database's range names no row (not found)."""

    name: str
    required: bool = True
    description: str | None = None

    def schema(self) -> dict:
        return _described({"type": "integer", "minimum": 1, "maximum": JSON_ID_MAX}, self.description)

    def read(self, data: dict) -> int | None:
        return parsing.field_int(data, self.name, required=self.required)


@dataclass(frozen=True)
class Flag:
    """A JSON boolean."""

    name: str
    required: bool = True
    description: str | None = None

    def schema(self) -> dict:
        return _described({"type": "boolean"}, self.description)

    def read(self, data: dict) -> bool | None:
        value = data.get(self.name)
        if value is None and not self.required:
            return None
        if not isinstance(value, bool):
            raise errors.ValidationFailed(
                _l("'%(name)s' must be true or false.", name=self.name), details={"field": self.name}
            )
        return value


@dataclass(frozen=True)
class Raw:
    """A field its service checks; ``schema`` states the limits that service enforces."""

    name: str
    spec: dict
    required: bool = False

    def schema(self) -> dict:
        return self.spec

    def read(self, data: dict) -> Any:
        return data.get(self.name)


@dataclass(frozen=True)
class Body:
    """A JSON object body, published as the component schema ``name``; ``closed``: its service
    refuses fields other than ``fields`` (``additionalProperties: false``), else they are ignored."""

    name: str
    fields: tuple[Text | Secret | Id | Flag | Raw, ...]
    required: bool = True
    description: str | None = None
    closed: bool = False

    def schema(self) -> dict:
        s: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.schema() for f in self.fields},
        }
        needed = [f.name for f in self.fields if f.required]
        if needed:
            s["required"] = needed
        if self.closed:
            s["additionalProperties"] = False
        return _described(s, self.description)

    def read(self) -> dict[str, Any]:
        """The body's declared fields, each validated (absent optional ones as their default)."""
        data = parsing.json_body()
        return {f.name: f.read(data) for f in self.fields}


def date_schema(description: str) -> dict:
    """An ISO 8601 date or date-time (without an offset: the clinic's time zone), years 1900 to 2199."""
    return {"type": "string", "pattern": inputs.DAY_OR_MOMENT_PATTERN, "description": description}


def _described(schema: dict, description: str | None) -> dict:
    return schema | {"description": description} if description else schema


# --- query parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntParam:
    """A whole number between ``lo`` and ``hi``; ``default`` when absent."""

    name: str
    default: int
    lo: int = 0
    hi: int = 1000

    required = False

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.lo, "maximum": self.hi, "default": self.default}

    def read(self) -> int:
        return parsing.query_int(self.name, self.default, lo=self.lo, hi=self.hi)


@dataclass(frozen=True)
class TextParam:
    """A query text of ``min_len`` to ``max_len`` characters (trimmed), without control characters."""

    name: str
    max_len: int
    min_len: int = 0
    required: bool = False

    def schema(self) -> dict:
        s: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
        if self.min_len or self.required:
            n = max(self.min_len, 1)
            s |= {"minLength": n, "pattern": trimmed_at_least(n)}
        else:
            s["pattern"] = TEXT_PATTERN
        return s

    def read(self) -> str | None:
        raw = request.args.get(self.name)
        value = inputs.clean_text(raw, self.name, max_len=self.max_len) if raw else ""
        if (self.required or raw) and len(value) < max(self.min_len, 1 if self.required else 0):
            if not value:
                raise errors.ValidationFailed(
                    _l("'%(name)s' is required.", name=self.name), details={"field": self.name}
                )
            raise errors.ValidationFailed(
                _l("Type at least %(count)s characters.", count=self.min_len), details={"field": self.name}
            )
        return value or None


@dataclass(frozen=True)
class ChoiceParam:
    """One of ``choices`` (absent: ``None``)."""

    name: str
    choices: Sequence[str]
    required: bool = False

    def schema(self) -> dict:
        return {"type": "string", "enum": list(self.choices)}

    def read(self) -> str | None:
        value = request.args.get(self.name)
        if value is None and not self.required:
            return None
        if value not in self.choices:
            raise errors.ValidationFailed(
                _l("'%(name)s' must be one of %(choices)s.", name=self.name, choices=", ".join(self.choices)),
                details={"field": self.name},
            )
        return value


@dataclass(frozen=True)
class DateTimeParam:
    """An ISO 8601 date-time with a UTC offset, between the years 1900 and 2199."""

    name: str

    required = False

    def schema(self) -> dict:
        return {
            "type": "string",
            "pattern": inputs.DATE_TIME_PATTERN,
            "description": "An ISO 8601 date-time with a UTC offset, years 1900 to 2199",
        }

    def read(self) -> datetime | None:
        return parsing.query_datetime(self.name, None)


Param = IntParam | TextParam | ChoiceParam | DateTimeParam


# --- operations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says of one handler (its summary comes from the docstring).

    ``errors``: the status codes the handler's own rules answer; the document adds those every
    operation of its kind can get (401 when authenticated, 404 with an id in the path, 400, 413 and
    422 with a body, 422 with query parameters)."""

    ok: dict
    status: int = 200
    errors: tuple[int, ...] = ()
    body: Body | None = None
    multipart: bool = False
    query: tuple[Param, ...] = ()
    public: bool = False
    ok_headers: dict = field(default_factory=dict)


def documented(
    ok: dict,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (),
    body: Body | None = None,
    multipart: bool = False,
    query: tuple[Param, ...] = (),
    public: bool = False,
) -> Callable[[F], F]:
    """Attach the handler's ``Operation`` (read by ``api/openapi.py``)."""

    def mark(view: F) -> F:
        view.operation = Operation(  # type: ignore[attr-defined]
            ok=ok, status=status, errors=errors, body=body, multipart=multipart, query=query, public=public
        )
        return view

    return mark
