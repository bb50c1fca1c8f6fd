"""Plain, frozen inputs for the conclusion PDF and the FHIR export.

No ORM here: the services copy database rows into these so that the renderers
stay pure and testable. Lists are stored as tuples (any sequence is accepted).
All datetimes must be timezone-aware; ``ValueError`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "Addendum",
    "ConclusionContent",
    "ConclusionDocument",
    "Diagnosis",
    "ENCOUNTER_STATUSES",
    "FhirConclusion",
    "FhirDocument",
    "FhirEncounter",
    "FhirPatient",
    "FhirPractitioner",
    "Referral",
]

#: FHIR R4 Encounter.status codes; callers map their own statuses onto these.
ENCOUNTER_STATUSES = frozenset(
    {
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
REFERRAL_KINDS = ("test", "specialist", "in_person")
_GENDERS = frozenset({"male", "female", "other", "unknown"})


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware")


def _freeze(obj: object, name: str, items: Sequence[Any]) -> None:
    object.__setattr__(obj, name, tuple(items))


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """``icd10`` is a canonical code (``J06.9``) or None when not coded."""

    icd10: str | None
    text: str


class Addendum(NamedTuple):
    """A correction added after signing; the signed text itself never changes."""

    author: str
    created_at: datetime
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral as printed and exported: ``kind`` is ``test``, ``specialist`` or ``in_person``;
    ``code`` a code of the «Номенклатура медицинских услуг» (a test); ``specialty`` a specialty's
    slug; ``title`` what it is to (the service's title or the specialty's name), for people."""

    kind: str
    code: str | None = None
    specialty: str | None = None
    note: str = ""
    title: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in REFERRAL_KINDS:
            raise ValueError(f"kind must be one of {REFERRAL_KINDS}")

    @classmethod
    def from_value(cls, value: Mapping[str, Any] | str) -> Referral:
        """From the API's shape ``{kind, code, specialty, note, title}``; a plain string (a
        conclusion signed before referrals were structured) is an in-person referral."""
        if isinstance(value, str):
            return cls("in_person", note=value)
        return cls(
            value["kind"],
            code=value.get("code") or None,
            specialty=value.get("specialty") or None,
            note=value.get("note") or "",
            title=value.get("title") or None,
        )

    def line(self) -> str:
        """One line for people (Russian, as the signed document): «A09.05.023 Исследование уровня
        глюкозы в крови — натощак», «Консультация специалиста: ЛОР», «Очный приём: <note>»."""
        head = " ".join(p for p in (self.code or "", self.title or self.specialty or "") if p)
        if self.kind != "test":
            label = "Консультация специалиста" if self.kind == "specialist" else "Очный приём"
            head = f"{label}: {head}" if head else label
        return " — ".join(p for p in (head, self.note.strip()) if p)


@dataclass(frozen=True, slots=True)
class ConclusionContent:
    """The content shape of a medical conclusion (all free text may be empty)."""

    complaints: str
    anamnesis: str
    objective: str
    diagnosis: Diagnosis
    recommendations: str
    referrals: Sequence[Referral] = ()  # a mapping or a legacy string is converted (``Referral.from_value``)
    follow_up: str = ""

    def __post_init__(self) -> None:
        items = [r if isinstance(r, Referral) else Referral.from_value(r) for r in self.referrals]
        _freeze(self, "referrals", items)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConclusionContent:
        """Build from the JSON shape ``{..., "diagnosis": {"icd10", "text"}, ...}``."""
        diagnosis = data.get("diagnosis") or {}
        return cls(
            complaints=data.get("complaints") or "",
            anamnesis=data.get("anamnesis") or "",
            objective=data.get("objective") or "",
            diagnosis=Diagnosis(diagnosis.get("icd10") or None, diagnosis.get("text") or ""),
            recommendations=data.get("recommendations") or "",
            referrals=tuple(Referral.from_value(r) for r in data.get("referrals") or ()),
            follow_up=data.get("follow_up") or "",
        )


@dataclass(frozen=True, slots=True)
class ConclusionDocument:
    """Everything printed on a signed conclusion PDF.

    ``time_zone`` is an IANA name (``Europe/Moscow``); every time on the page is
    shown in it, with its UTC offset.
    """

    consultation_id: int
    patient_name: str
    patient_birth_date: date
    doctor_name: str
    doctor_specialty: str
    started_at: datetime
    time_zone: str
    content: ConclusionContent
    signed_at: datetime
    signed_by: str
    content_sha256: str
    addenda: Sequence[Addendum] = ()

    def __post_init__(self) -> None:
        _require_aware("started_at", self.started_at)
        _require_aware("signed_at", self.signed_at)
        ZoneInfo(self.time_zone)  # raises ZoneInfoNotFoundError / ValueError
        addenda = tuple(Addendum(*a) for a in self.addenda)
        for addendum in addenda:
            _require_aware("addendum created_at", addendum.created_at)
        _freeze(self, "addenda", addenda)


@dataclass(frozen=True, slots=True)
class FhirPatient:
    """``name`` is the display name (Russian order: family, given, patronymic).

    ``family``/``given`` are optional structured parts; ``gender`` is a FHIR
    AdministrativeGender code or None; ``policy_number`` is the ДМС policy.
    """

    id: int
    name: str
    birth_date: date | None = None
    gender: str | None = None
    policy_number: str | None = None
    family: str | None = None
    given: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.gender is not None and self.gender not in _GENDERS:
            raise ValueError(f"gender must be one of {sorted(_GENDERS)}")
        _freeze(self, "given", self.given)


@dataclass(frozen=True, slots=True)
class FhirPractitioner:
    """A doctor; ``education`` becomes the qualification text."""

    id: int
    name: str
    education: str | None = None
    family: str | None = None
    given: Sequence[str] = ()

    def __post_init__(self) -> None:
        _freeze(self, "given", self.given)


@dataclass(frozen=True, slots=True)
class FhirEncounter:
    """A visit: remote (teleconsultation) or in person (e-card entry).

    ``status`` is a FHIR Encounter.status code (see ``ENCOUNTER_STATUSES``);
    ``specialty`` is the display name of the doctor's specialty; ``urgent``: from the urgent queue.
    """

    id: int
    practitioner_id: int | None  # None: nobody took the urgent request (it is still waiting)
    status: str
    remote: bool
    start: datetime
    end: datetime | None = None
    reason: str | None = None
    specialty: str | None = None
    urgent: bool = False

    def __post_init__(self) -> None:
        if self.status not in ENCOUNTER_STATUSES:
            raise ValueError(f"status must be one of {sorted(ENCOUNTER_STATUSES)}")
        _require_aware("start", self.start)
        _require_aware("end", self.end)


@dataclass(frozen=True, slots=True)
class FhirRestricted:
    """An e-card entry the reader may not see (need-to-know): its kind (``conclusion``, ``visit``
    or ``document``), date and specialty (display name), nothing more."""

    kind: str
    date: datetime
    specialty: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("conclusion", "visit", "document"):
            raise ValueError("kind must be conclusion, visit or document")
        _require_aware("date", self.date)


@dataclass(frozen=True, slots=True)
class FhirConclusion:
    """A signed conclusion of one encounter, authored by ``practitioner_id``."""

    id: int
    encounter_id: int
    practitioner_id: int
    content: ConclusionContent
    signed_at: datetime
    content_sha256: str
    addenda: Sequence[Addendum] = field(default=())

    def __post_init__(self) -> None:
        _require_aware("signed_at", self.signed_at)
        addenda = tuple(Addendum(*a) for a in self.addenda)
        for addendum in addenda:
            _require_aware("addendum created_at", addendum.created_at)
        _freeze(self, "addenda", addenda)


@dataclass(frozen=True, slots=True)
class FhirDocument:
    """An uploaded file (test result, scan); ``sha256`` is lowercase hex."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    encounter_id: int | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        _require_aware("created_at", self.created_at)
