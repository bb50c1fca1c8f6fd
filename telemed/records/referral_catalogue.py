"""The laboratory tests and studies a doctor may refer to: lookup and search.

Source: ``data/referral_services.tsv`` (``code<TAB>kind<TAB>title_ru<TAB>title_en``), loaded once,
lazily. Codes are those of the Russian «Номенклатура медицинских услуг» (Приказ Минздрава России
от 13.10.2017 № 804н), e.g. ``B03.016.002`` «Общий (клинический) анализ крови»; ``kind`` is
``lab`` (a laboratory test) or ``study`` (imaging, ECG, endoscopy...). A few dozen common services,
not the whole nomenclature.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from telemed.members.models import fold

__all__ = ["NOMENCLATURE_OID", "Service", "all_services", "lookup", "search"]

#: The OID of «Номенклатура медицинских услуг» in the НСИ registry (its FHIR ``system``).
NOMENCLATURE_OID = "1.2.643.5.1.13.13.11.1070"
KINDS = ("lab", "study")


@dataclass(frozen=True, slots=True)
class Service:
    """One service of the nomenclature: its code, ``lab`` or ``study``, and its titles."""

    code: str
    kind: str
    title_ru: str
    title_en: str

    def title(self, lang: str = "ru") -> str:
        return self.title_en if lang == "en" else self.title_ru


@cache
def _rows() -> tuple[tuple[Service, str], ...]:
    """Every service with its folded search text (code and both titles)."""
    text = resources.files("telemed.records").joinpath("data/referral_services.tsv").read_text("utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        service = Service(row["code"], row["kind"], row["title_ru"], row["title_en"])
        if service.kind not in KINDS:
            raise ValueError(f"{service.code}: kind must be one of {KINDS}")
        rows.append((service, fold(f"{service.code} {service.title_ru} {service.title_en}")))
    return tuple(rows)


@cache
def _by_code() -> dict[str, Service]:
    return {service.code: service for service, _ in _rows()}


def all_services() -> list[Service]:
    return [service for service, _ in _rows()]


def lookup(code: object) -> Service | None:
    """The service of ``code`` (exact, as in the nomenclature: ``A09.05.023``), or None."""
    return _by_code().get(code.strip().upper()) if isinstance(code, str) else None


def search(q: str, *, limit: int = 20) -> list[Service]:
    """Services whose code starts with ``q``, then those whose code or titles (Russian or English)
    contain every word of ``q``, case- and ё-insensitively; at most ``limit``, catalogue order.
    An empty query lists the catalogue."""
    words = fold(q).split()
    if not words:
        return all_services()[:limit]
    prefix = fold(q).replace(" ", "")
    by_code = [s for s, _ in _rows() if fold(s.code).startswith(prefix)]
    by_words = [s for s, text in _rows() if s not in by_code and all(w in text for w in words)]
    return (by_code + by_words)[:limit]
