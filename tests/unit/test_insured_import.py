"""Reading and checking an insured list as pure functions (no database)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from telemed import errors
from telemed.admin import access
from telemed.admin.insured_import import (
    BadFile,
    Existing,
    Row,
    RowError,
    check,
    iter_csv,
    iter_xlsx,
    read_rows,
)
from telemed.auth.actor import Actor

HEADER = "email,valid_to,valid_from,main_policy_number,relation,birth_date,full_name,policy_number"


def parse(text: str) -> list[Row | RowError]:
    return list(read_rows(iter_csv(io.BytesIO(text.encode("utf-8")))))


def test_columns_in_any_order_a_bom_blank_lines_and_dates():
    items = parse(
        "\ufeff" + HEADER + "\n\nA@Example.org,31.12.2026,1.1.2026,,SELF,29.02.1980,  Анна   Ли ,P-1\n"
    )
    assert items == [
        Row(
            line=3,
            policy_number="P-1",
            full_name="Анна Ли",
            birth_date=date(1980, 2, 29),
            relation="self",
            main_policy_number="",
            valid_from=date(2026, 1, 1),
            valid_to=date(2026, 12, 31),
            email="a@example.org",
        )
    ]


@pytest.mark.parametrize(
    ("cells", "reasons"),
    [
        (",31.12.2026,01.01.2026,,self,2026-01-01,Анна,P-1", [("bad_date", "birth_date")]),
        (",31.12.2026,01.01.2026,,self,29.02.1981,Анна,P-1", [("bad_date", "birth_date")]),
        (",01.01.2026,02.01.2026,,self,01.01.1980,Анна,P-1", [("dates_reversed", "valid_to")]),
        (",31.12.2026,01.01.2026,,wife,01.01.1980,Анна,P-1", [("unknown_relation", "relation")]),
        ("a@b,31.12.2026,01.01.2026,,self,01.01.1980,Анна,P-1", [("bad_email", "email")]),
        (
            ",31.12.2026,01.01.2026,,self,01.01.1980,,",
            [("missing_policy_number", "policy_number"), ("missing_name", "full_name")],
        ),
    ],
)
def test_one_row_errors(cells, reasons):
    items = parse(f"{HEADER}\n{cells}\n")
    assert [(e.line, e.reason, e.field) for e in items] == [(2, r, f) for r, f in reasons]


def test_a_missing_column_or_an_empty_file_is_a_bad_header():
    with pytest.raises(BadFile) as caught:
        parse("policy_number,full_name\nP-1,Анна\n")
    assert caught.value.reason == "bad_header"
    with pytest.raises(BadFile):
        parse("")


def row(line, number, relation="self", main="", email="x@example.org"):
    return Row(
        line, number, "N", date(1980, 1, 1), relation, main, date(2026, 1, 1), date(2026, 12, 31), email
    )


def test_checks_across_the_file_and_the_database():
    old_adult = Existing(1, 1, 10, "N", date(1980, 1, 1), date(2026, 1, 1), date(2026, 12, 31), "")
    old_no_account = Existing(2, 2, None, "N", date(1980, 1, 1), date(2026, 1, 1), date(2026, 12, 31), "")
    rows = [
        row(2, "A"),
        row(3, "A"),
        row(4, "K1", "child", "OLD"),  # the main policy holder exists with an account: fine
        row(5, "K2", "child", "OLDX"),  # exists without an account: no guardian
        row(6, "S", "spouse", ""),
        row(7, "F"),
    ]
    found = check(rows, existing={"OLD": old_adult, "OLDX": old_no_account}, elsewhere={"F"})
    assert [(e.line, e.reason) for e in found] == [
        (3, "duplicate_policy"),
        (5, "child_without_guardian"),
        (6, "unknown_main_policy"),
        (7, "unknown_contract"),
    ]


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator"])
def test_only_admins_manage_contracts(role):
    with pytest.raises(errors.NotPermitted):
        access.check_admin(Actor(id=1, role=role, name="X"))
    access.check_admin(Actor(id=1, role="admin", name="X"))


def _broken_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<unclosed")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [b"PK\x03\x04 not a zip", _broken_workbook()])
def test_a_broken_workbook_is_a_bad_file(data):
    with pytest.raises(BadFile) as caught:
        list(read_rows(iter_xlsx(io.BytesIO(data))))
    assert caught.value.reason == "bad_file"
