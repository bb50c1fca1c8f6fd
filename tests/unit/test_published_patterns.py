"""The patterns the OpenAPI document publishes are exactly the rules the server enforces.

Schemathesis generates valid input from these patterns and invalid input against them; a pattern
looser or stricter than the server would show up as valid input refused or invalid input accepted.
These properties check the equivalence directly, over random text and every day of the range.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemed import errors, inputs
from telemed.api.contract import TEXT_PATTERN, trimmed_at_least
from telemed.api.openapi_parts import ICD10_PATTERN
from telemed.records.icd10 import normalize_code

# text that often holds what the rules are about: controls, white space of every kind, surrogates
_SPECIAL = "\x00\x07\t\n\r\x0b\x0c\x1c\x1f\x7f\x85\xa0\u2000\u2028\u202e\u2066\u3000\ud800 aZ0.-"
TEXTS = st.text(alphabet=st.sampled_from(_SPECIAL) | st.characters(), max_size=12)


def _server_accepts(text: str, max_len: int = 50) -> str | None:
    try:
        return inputs.clean_text(text, "f", max_len=max_len)
    except errors.ValidationFailed:
        return None


def _surrogate_free(text: str) -> bool:  # the published range leaves lone surrogates out
    return not re.search("[\ud800-\udfff]", text)


@settings(max_examples=3000)
@given(TEXTS)
def test_text_pattern_is_the_control_character_rule(text):
    if _surrogate_free(text):
        assert bool(re.fullmatch(TEXT_PATTERN, text)) == (_server_accepts(text) is not None)
    else:
        assert _server_accepts(text) is None


@pytest.mark.parametrize("n", [1, 2, 3])
@settings(max_examples=2000)
@given(text=TEXTS)
def test_trimmed_length_pattern_is_the_minimum_length_rule(n, text):
    cleaned = _server_accepts(text)
    if _surrogate_free(text):
        assert bool(re.fullmatch(trimmed_at_least(n), text)) == (cleaned is not None and len(cleaned) >= n)


def test_space_chars_are_what_trimming_removes():
    control = re.compile(f"[{inputs.CONTROL_CHARS}\ud800-\udfff]")
    space = re.compile(f"[{inputs.SPACE_CHARS}]")
    for c in map(chr, range(0x110000)):
        if not control.match(c):
            assert bool(space.match(c)) == c.isspace(), hex(ord(c))


def test_the_day_pattern_is_the_calendar_of_1900_to_2199():
    day = date(1899, 12, 1)
    while day < date(2200, 2, 1):
        published = re.fullmatch(inputs.DAY_OR_MOMENT_PATTERN, day.isoformat())
        assert bool(published) == (1900 <= day.year < 2200), day
        day += timedelta(days=1)
    for year in range(1900, 2200):
        for text in (f"{year}-02-29", f"{year}-02-30", f"{year}-04-31", f"{year}-13-01", f"{year}-00-10"):
            try:
                real = date.fromisoformat(text) is not None
            except ValueError:
                real = False
            assert bool(re.fullmatch(inputs.DAY_OR_MOMENT_PATTERN, text)) == real, text


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-05-01T09:00:00+03:00", "2026-05-01T09:00:00+03:00"),
        ("2026-05-01t09:00z", "2026-05-01T09:00:00+00:00"),
        ("2026-05-01 09:00:00.5Z", "2026-05-01T09:00:00.500000+00:00"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00+00:00"),  # a leap second is the next second
    ],
)
def test_date_times_the_pattern_allows_parse(text, moment):
    assert re.fullmatch(inputs.DATE_TIME_PATTERN, text)
    assert inputs.parse_datetime(text).isoformat() == moment


@pytest.mark.parametrize(
    "text",
    ["2026-05-01T09:00+03", "20260501T0900Z", "2026-W18-5T09:00Z", "2026-05-01T24:00Z", "2200-01-01T00:00Z"],
)
def test_date_times_the_pattern_refuses_are_refused(text):
    assert not re.fullmatch(inputs.DATE_TIME_PATTERN, text)
    with pytest.raises(ValueError):
        inputs.parse_datetime(text, inputs.DATE_TIME_PATTERN)


@settings(max_examples=3000)
@given(st.text(alphabet=st.sampled_from(" \t\xa0\x1cjJ069.1xX"), max_size=9))
def test_icd10_pattern_is_what_the_server_reads_as_a_code(text):
    assert bool(re.fullmatch(ICD10_PATTERN, text)) == (text == "" or normalize_code(text) is not None)
