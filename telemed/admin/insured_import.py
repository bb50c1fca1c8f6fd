"""Reading an employer's list of insured people (CSV or XLSX) and checking it, as pure functions.

Columns (a header row, any order): ``policy_number, full_name, birth_date, relation (self | spouse |
child), main_policy_number, valid_from, valid_to, email``; dates ``DD.MM.YYYY`` (XLSX date cells
too). The file is read as a stream (``csv`` / ``openpyxl`` read-only ``iter_rows``); each row gets its
line number in the file (the header is line 1). ``check`` finds what only the whole file and the
database can tell (duplicates, the main policy of dependants, policies of another contract).
Applying a clean file is ``telemed.admin.insured_apply``.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

COLUMNS = (
    "policy_number",
    "full_name",
    "birth_date",
    "relation",
    "main_policy_number",
    "valid_from",
    "valid_to",
    "email",
)
RELATIONS = ("self", "spouse", "child")
ADULT_RELATIONS = ("self", "spouse")
NAME_MAX, NUMBER_MAX, EMAIL_MAX = 200, 64, 254
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")

#: Why a row is refused (the ``reason`` of an error; pages show them in words).
REASONS = (
    "bad_header",
    "bad_file",
    "missing_policy_number",
    "missing_name",
    "bad_date",
    "dates_reversed",
    "unknown_relation",
    "bad_email",
    "duplicate_policy",
    "unknown_main_policy",
    "child_without_guardian",
    "unknown_contract",
)


@dataclass(slots=True)
class Row:
    """One person of the list, as read (a date is None when it could not be read)."""

    line: int
    policy_number: str
    full_name: str
    birth_date: date | None
    relation: str
    main_policy_number: str
    valid_from: date | None
    valid_to: date | None
    email: str


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str
    field: str | None = None

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"line": self.line, "reason": self.reason}
        if self.field:
            body["field"] = self.field
        return body


class BadFile(Exception):
    """The file as a whole cannot be read (not CSV/XLSX, no header)."""

    def __init__(self, reason: str = "bad_file"):
        super().__init__(reason)
        self.reason = reason


# --- reading -----------------------------------------------------------------------------------


def _header(cells: Iterable[object]) -> dict[str, int]:
    names = [str(c or "").strip().lower().lstrip("\ufeff") for c in cells]
    found = {n: i for i, n in enumerate(names) if n in COLUMNS}
    if len(found) != len(COLUMNS):
        raise BadFile("bad_header")
    return found


def iter_csv(stream: IO[bytes]) -> Iterator[tuple[int, list[object]]]:
    """``(line, cells)`` of a UTF-8 CSV (optional BOM), the header first."""
    text = codecs.getreader("utf-8-sig")(stream)  # strict: bad bytes raise UnicodeDecodeError
    reader = csv.reader(text)
    try:
        for cells in reader:
            yield reader.line_num, list(cells)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadFile() from exc


def iter_xlsx(stream: IO[bytes]) -> Iterator[tuple[int, list[object]]]:
    """``(line, cells)`` of the first sheet of an XLSX workbook (read-only, streamed)."""
    import zipfile
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook

    broken = (zipfile.BadZipFile, ParseError, KeyError, IndexError, OSError, ValueError, TypeError)
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except broken as exc:
        raise BadFile() from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        for line, cells in enumerate(rows, start=1):
            yield line, list(cells)
    except broken as exc:  # a part of the workbook is malformed
        raise BadFile() from exc
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.match(_cell(value))
    if not m:
        return None
    try:
        day = date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return day if 1900 <= day.year < 2200 else None


def read_rows(lines: Iterator[tuple[int, list[object]]]) -> Iterator[Row | RowError]:
    """Rows of the file and the errors one row shows alone; blank lines are skipped."""
    first = next(lines, None)
    if first is None:
        raise BadFile("bad_header")
    cols = _header(first[1])
    for line, cells in lines:
        if not any(_cell(c) for c in cells):
            continue
        raw = {name: (cells[i] if i < len(cells) else None) for name, i in cols.items()}
        yield from _row(line, raw)


def _row(line: int, raw: Mapping[str, object]) -> Iterator[Row | RowError]:
    errors: list[RowError] = []
    number = _cell(raw["policy_number"])
    if not number or len(number) > NUMBER_MAX:
        errors.append(RowError(line, "missing_policy_number", "policy_number"))
    name = " ".join(_cell(raw["full_name"]).split())
    if not name or len(name) > NAME_MAX:
        errors.append(RowError(line, "missing_name", "full_name"))
    dates = {}
    for field in ("birth_date", "valid_from", "valid_to"):
        dates[field] = _date(raw[field])
        if dates[field] is None:
            errors.append(RowError(line, "bad_date", field))
    if dates["valid_from"] and dates["valid_to"] and dates["valid_to"] < dates["valid_from"]:
        errors.append(RowError(line, "dates_reversed", "valid_to"))
    relation = _cell(raw["relation"]).lower()
    if relation not in RELATIONS:
        errors.append(RowError(line, "unknown_relation", "relation"))
    email = _cell(raw["email"])
    if email and (len(email) > EMAIL_MAX or not _EMAIL.match(email)):
        errors.append(RowError(line, "bad_email", "email"))
    if errors:
        yield from errors
        return
    yield Row(
        line=line,
        policy_number=number,
        full_name=name,
        birth_date=dates["birth_date"],
        relation=relation,
        main_policy_number=_cell(raw["main_policy_number"]),
        valid_from=dates["valid_from"],
        valid_to=dates["valid_to"],
        email=email.lower(),
    )


# --- checking the whole file -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Existing:
    """A policy of the contract already in the database."""

    policy_id: int
    patient_id: int
    user_id: int | None
    full_name: str
    birth_date: date
    valid_from: date
    valid_to: date
    email: str


def check(
    rows: list[Row],
    *,
    existing: Mapping[str, Existing],
    elsewhere: set[str],
) -> list[RowError]:
    """The errors only the whole file tells: a policy twice in the file, a policy of another
    contract (``elsewhere``), a dependant whose main policy is unknown, a child whose main policy
    is not an adult holding (or getting) an account."""
    errors: list[RowError] = []
    by_number: dict[str, Row] = {}
    for row in rows:
        if row.policy_number in by_number:
            errors.append(RowError(row.line, "duplicate_policy", "policy_number"))
            continue
        by_number[row.policy_number] = row
        if row.policy_number in elsewhere:
            errors.append(RowError(row.line, "unknown_contract", "policy_number"))
    for row in rows:
        if row.relation == "self" or by_number.get(row.policy_number) is not row:
            continue
        main = row.main_policy_number
        if not main or main == row.policy_number:
            reason = "child_without_guardian" if row.relation == "child" else "unknown_main_policy"
            errors.append(RowError(row.line, reason, "main_policy_number"))
            continue
        in_file, old = by_number.get(main), existing.get(main)
        if in_file is None and old is None:
            errors.append(RowError(row.line, "unknown_main_policy", "main_policy_number"))
        elif row.relation == "child" and not _guardian_of(in_file, old):
            errors.append(RowError(row.line, "child_without_guardian", "main_policy_number"))
    errors.sort(key=lambda e: e.line)
    return errors


def _guardian_of(in_file: Row | None, old: Existing | None) -> bool:
    """Whether the main policy is an adult ``self`` member with an account (or one to be invited)."""
    if in_file is not None:
        return in_file.relation == "self" and bool(in_file.email or (old and old.user_id))
    return old is not None and old.user_id is not None
