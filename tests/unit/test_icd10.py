"""ICD-10 list: data integrity, search order, lookup and validation."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from telemed.records import icd10
from telemed.records.icd10 import Icd10Entry, is_valid_code, lookup, normalize_code, search


def _russian_rows() -> list[list[str]]:
    source = resources.files("telemed.records").joinpath("data/icd10_ru.tsv")
    with source.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_russian_data_file_is_well_formed_and_every_code_is_a_who_code():
    header, *rows = _russian_rows()
    assert header == ["code", "title_ru"]
    assert len(rows) >= 300
    codes = [row[0] for row in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    for code, title in rows:
        assert is_valid_code(code), code
        assert title == title.strip() and title, code
        assert lookup(code, lang="ru") == Icd10Entry(code, title)
        assert lookup(code, lang="en").title != title  # English comes from the WHO list


@pytest.mark.parametrize(
    ("specialty", "code"),
    [
        ("therapist", "J06.9"),
        ("pediatrician", "B01.9"),
        ("neurologist", "G43.0"),
        ("cardiologist", "I10"),
        ("endocrinologist", "E06.3"),
        ("urologist", "N30.0"),
        ("gynecologist", "N94.6"),
        ("ENT", "H66.9"),
        ("allergist", "J30.1"),
        ("gastroenterologist", "K21.0"),
        ("dermatologist", "L20.9"),
        ("orthopedist", "M17.9"),
        ("psychologist", "F41.1"),
    ],
)
def test_common_codes_of_every_specialty_have_russian_titles(specialty, code):
    entry = lookup(code)
    assert entry is not None, specialty
    assert any("а" <= ch <= "я" for ch in entry.title.lower()), entry.title


def test_exact_code_comes_first_then_prefix_matches_in_code_order():
    results = search("J06")
    codes = [e.code for e in results]
    assert codes[0] == "J06"
    assert codes == sorted(codes)
    assert all(c.startswith("J06") for c in codes)
    assert "J06.9" in codes


def test_code_search_is_case_insensitive_and_forgives_the_dot():
    assert search("j06")[0].code == "J06"
    assert search("j06.9")[0] == Icd10Entry("J06.9", "Острая инфекция верхних дыхательных путей неуточненная")
    assert search("j069")[0].code == "J06.9"


def test_code_matches_come_before_title_matches():
    # "I10" is both a code and (as a token) not a word in any title
    assert [e.code for e in search("I10")][:1] == ["I10"]
    assert search("U07")[0].code == "U07"
    assert {e.code for e in search("U07")} >= {"U07.1", "U07.2"}


def test_title_search_matches_every_word_prefix_case_insensitively():
    results = search("ОСТРЫЙ цист")
    assert [e.code for e in results] == ["N30.0"]
    assert search("боль спин")[0].code == "M54.5"


def test_title_search_puts_titles_starting_with_the_query_first():
    results = search("гастрит")
    assert results[0] == Icd10Entry("K29.7", "Гастрит неуточненный")
    assert {"K29.0", "K29.3", "K29.5"} <= {e.code for e in results}


def test_yo_and_ye_are_the_same_letter():
    with_yo = search("отёк")
    assert "R60.0" in [e.code for e in with_yo]
    assert with_yo == search("ОТЕК")


def test_english_titles_and_fallback():
    assert search("low back pain", lang="en")[0] == Icd10Entry("M54.5", "Low back pain")
    assert lookup("J06.9", lang="en") == Icd10Entry("J06.9", "Acute upper respiratory infection, unspecified")
    # a WHO code we have no Russian title for falls back to the English title
    assert lookup("J18.0", lang="ru") == Icd10Entry("J18.0", "Bronchopneumonia, unspecified")


def test_limit_and_empty_queries():
    assert len(search("J", limit=5)) == 5
    assert search("J", limit=0) == []
    assert search("") == []
    assert search("   ") == []
    assert search("zzzzqq") == []
    assert len(search("disease", lang="en")) == 20  # default limit


def test_unknown_language_is_rejected():
    with pytest.raises(ValueError):
        search("J06", lang="de")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("J06.9", True),
        ("I10", True),
        ("U07.1", True),
        ("B18.00", True),
        ("J06", True),
        ("j06.9", False),
        ("J069", False),
        ("J06.99", False),
        ("J6", False),
        ("", False),
        ("A00-A09", False),
        ("XXI", False),
        (" J06.9", False),
        ("J06.", False),
    ],
)
def test_is_valid_code(code, valid):
    assert is_valid_code(code) is valid


def test_lookup_and_normalize():
    assert lookup(" j069 ") == lookup("J06.9")
    assert lookup("J99.99") is None
    assert lookup("not a code") is None
    assert normalize_code(" j069 ") == "J06.9"
    assert normalize_code("m545") == "M54.5"
    assert normalize_code("J06") == "J06"
    assert normalize_code("J0") is None


def test_list_is_loaded_once():
    search("J06")
    lookup("I10")
    is_valid_code("K21.0")
    info = icd10._index.cache_info()
    assert info.currsize == 1 and info.misses == 1


# --- everyday Russian words ------------------------------------------------------------------------


def _synonym_rows() -> list[list[str]]:
    source = resources.files("telemed.records").joinpath("data/icd10_ru_synonyms.tsv")
    with source.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_synonyms_file_is_well_formed_and_names_only_who_codes():
    header, *rows = _synonym_rows()
    assert header == ["synonym", "codes"]
    synonyms = [row[0] for row in rows]
    assert len(synonyms) == len(set(synonyms)), "duplicate synonyms"
    for synonym, codes in rows:
        assert synonym == synonym.strip().lower() and synonym, synonym
        targets = codes.split()
        assert targets and len(targets) == len(set(targets)), synonym
        assert all(is_valid_code(code) for code in targets), (synonym, targets)


def test_orvi_finds_the_acute_upper_respiratory_infections_unspecified_first():
    results = search("ОРВИ")
    assert results[0] == Icd10Entry("J06.9", "Острая инфекция верхних дыхательных путей неуточненная")
    codes = [e.code for e in results]
    assert {"J00", "J02.9", "J03.9", "J06"} <= set(codes)
    assert all("J00" <= code[:3] <= "J06" for code in codes), codes  # the J00–J06 group only
    assert search("орв")[0].code == "J06.9"  # a word's start is enough, as for titles


def test_angina_finds_tonsillitis_then_pharyngitis():
    codes = [e.code for e in search("ангина")]
    assert codes[0] == "J03.9"
    assert {"J03", "J03.0", "J03.8", "J02", "J02.9"} <= set(codes)
    assert all(code[:3] in ("J02", "J03") for code in codes), codes
    assert codes.index("J03.0") < codes.index("J02.9")  # every tonsillitis before a pharyngitis


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("давление", "I10"),
        ("гипертония", "I10"),
        ("простуда", "J00"),
        ("грипп", "J10.1"),  # a title starting with the word comes first
        ("мигрень", "G43.0"),
        ("цистит", "N30"),
        ("отит", "H66"),
        ("конъюнктивит", "H10"),
        ("бронхит", "J40"),
        ("пневмония", "J18"),
        ("воспаление легких", "J18"),
        ("аллергия", "T78.4"),
        ("ветрянка", "B01"),
        ("ковид", "U07.1"),
        ("COVID", "U07.1"),
        ("гастрит", "K29.7"),
        ("изжога", "R12"),
        ("понос", "A09"),
        ("ячмень", "H00.0"),
    ],
)
def test_everyday_words_find_their_code_first(word, code):
    results = search(word)
    assert results and results[0].code == code, [e.code for e in results]


def test_everyday_words_also_find_the_related_codes():
    assert {"J11.1", "J10.1"} <= {e.code for e in search("грипп")}
    assert {"I10", "I11", "I15"} <= {e.code for e in search("гипертония")}
    assert {"U07.1", "U07.2"} == {e.code for e in search("ковид")}
    assert {"J30.1", "L50.0"} <= {e.code for e in search("аллергия")}


def test_a_synonym_needs_every_query_word():
    assert [e.code for e in search("воспаление почек")] == []
    assert search("боль спине")[0].code == "M54.5"  # the title still wins for its own words


def test_synonyms_are_russian_only():
    assert search("орви", lang="en") == []
    assert search("ангина", lang="en") == []


def test_russian_titles_of_the_groups_people_search_for():
    assert lookup("J03") == Icd10Entry("J03", "Острый тонзиллит")
    assert lookup("J06") == Icd10Entry(
        "J06", "Острые инфекции верхних дыхательных путей множественной и неуточненной локализации"
    )
    assert lookup("H66").title == "Гнойный и неуточненный средний отит"
