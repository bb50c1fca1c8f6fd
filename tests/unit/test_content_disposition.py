"""Content-Disposition values are well-formed, ASCII and round-trip the exact name."""

from __future__ import annotations

import email.message
import email.utils

import pytest
from werkzeug.datastructures import Headers
from werkzeug.http import parse_options_header

from telemed.content_disposition import attachment_header


def parsed_name(value: str) -> str:
    kind, params = parse_options_header(value)
    assert kind == "attachment"
    return params["filename"]


def rfc2231_name(value: str) -> str:
    """The ``filename*`` parameter as decoded by the stdlib email package."""
    msg = email.message.Message()
    msg["Content-Disposition"] = value
    encoded = [v for k, v in msg.get_params(header="content-disposition") if isinstance(v, tuple)]
    assert len(encoded) == 1
    return email.utils.collapse_rfc2231_value(encoded[0])


def test_plain_ascii_name() -> None:
    assert attachment_header("report-2024.pdf") == 'attachment; filename="report-2024.pdf"'


def test_cyrillic_name_round_trips() -> None:
    value = attachment_header("Анализ крови.pdf")
    assert value.startswith("attachment; filename=\"______ _____.pdf\"; filename*=UTF-8''")
    assert parsed_name(value) == "Анализ крови.pdf"
    assert rfc2231_name(value) == "Анализ крови.pdf"


@pytest.mark.parametrize(
    "name, shown",
    [
        ("../../x", "x"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\r\nSet-Cookie: x=1.pdf", "aSet-Cookie: x=1.pdf"),
        ('he said "hi"; 100%.pdf', 'he said "hi"; 100%.pdf'),
        ("evil\x00.txt", "evil.txt"),
        ("..", "file"),
        ("", "file"),
    ],
)
def test_hostile_names_are_safe(name: str, shown: str) -> None:
    value = attachment_header(name)
    value.encode("ascii")  # pure ASCII, so valid in any HTTP/WSGI stack
    assert "\r" not in value and "\n" not in value and "\x00" not in value
    Headers().add("Content-Disposition", value)  # werkzeug refuses header injection
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert "\\" not in fallback and "/" not in fallback
    assert parsed_name(value) == shown


def test_quotes_only_in_filename_star() -> None:
    value = attachment_header('a"b.pdf')
    assert value.startswith('attachment; filename="a_b.pdf"; filename*=')
    assert rfc2231_name(value) == 'a"b.pdf'


def test_long_name_is_capped_keeping_extension() -> None:
    value = attachment_header("Ы" * 300 + ".pdf")
    name = parsed_name(value)
    assert len(name) == 200 and name.endswith(".pdf")
    assert len(value) < 2000  # uncapped, 300 such characters would need more
