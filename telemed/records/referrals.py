"""Referrals of a conclusion («Направления»): their shape, their issue and their status.

A referral is ``{kind, code?, specialty?, note?}``:

* ``test``: a laboratory test or study, ``code`` of ``referral_catalogue`` (required);
* ``specialist``: a consultation of ``specialty`` (a slug of ``catalog.specialties``, required);
* ``in_person``: a visit to the clinic, ``specialty`` optional.

``note`` is optional text (at most ``NOTE_MAX``). The conclusion stores the cleaned items
(``clean``); rows signed before referrals were structured hold plain strings, which read as
``{kind: "in_person", note: <text>}`` (``normalize``) while the stored value, and so the signed
content hash, stays as it was.

Signing a conclusion issues one ``Referral`` row per item (``issue_for``). A referral's status is
computed on read (``status_of``): ``issued``; ``booked`` once the patient has booked a
consultation of the referral's specialty (a specialist referral only; any booking made within its
validity counts, by the referral's one-tap link or not; a cancelled or missed one does not); or
``expired`` when ``VALID_DAYS`` have passed unbooked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.catalog.specialties import BY_CODE
from telemed.members import service as members
from telemed.members.models import Patient
from telemed.records import referral_catalogue
from telemed.records.models import Conclusion, Referral
from telemed.scheduling.models import Consultation
from telemed.scheduling.status import Status as ConsultationStatus
from telemed.translatable import _l

KINDS = ("test", "specialist", "in_person")
MAX_ITEMS = 30
NOTE_MAX = 500
VALID_DAYS = 30
#: A booking in one of these states «uses» a specialist referral.
BOOKED_STATUSES = frozenset(
    {
        ConsultationStatus.WAITING,
        ConsultationStatus.SCHEDULED,
        ConsultationStatus.IN_PROGRESS,
        ConsultationStatus.COMPLETED,
    }
)

LIST_PATH = "/referrals"  # the member's page of referrals (``records.referral_views``)


class Status(StrEnum):
    ISSUED = "issued"
    BOOKED = "booked"
    EXPIRED = "expired"


def _invalid(field: str, message: Any) -> errors.DomainError:
    return errors.ValidationFailed(message, details={"field": field})


def _clean_item(item: object, i: int) -> dict[str, str]:
    where = f"referrals[{i}]"
    if not isinstance(item, dict):
        raise _invalid(where, _l("A referral is {kind, code?, specialty?, note?}."))
    kind = item.get("kind")
    if kind not in KINDS:
        raise _invalid(f"{where}.kind", _l("A referral's kind is test, specialist or in_person."))
    out = {"kind": kind}
    code, specialty, note = item.get("code"), item.get("specialty"), item.get("note")
    if kind == "test":
        service = referral_catalogue.lookup(code)
        if service is None:
            raise _invalid(f"{where}.code", _l("Choose a test or study of the catalogue."))
        out["code"] = service.code
    elif code not in (None, ""):
        raise _invalid(f"{where}.code", _l("Only a referral to a test has a code."))
    if kind == "specialist" or specialty not in (None, ""):
        if kind == "test" or not isinstance(specialty, str) or specialty not in BY_CODE:
            raise _invalid(f"{where}.specialty", _l("Choose a specialty of the catalogue."))
        out["specialty"] = specialty
    if note is not None:
        if not isinstance(note, str):
            raise _invalid(f"{where}.note", _l("A referral's note is text."))
        if text := inputs.clean_text(note, f"{where}.note", max_len=NOTE_MAX):
            out["note"] = text
    return out


def clean(value: object) -> list[dict[str, str]]:
    """The referrals of a conclusion's PUT body, as stored: only the keys that apply. ``None`` is
    no referral; 422 ``validation_error`` with ``details.field`` such as ``referrals[0].code``."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise _invalid("referrals", _l("'referrals' must be a list of at most %(limit)s.", limit=MAX_ITEMS))
    return [_clean_item(item, i) for i, item in enumerate(value)]


def normalize(stored: dict | str) -> dict[str, str | None]:
    """A stored item in the API's shape ``{kind, code, specialty, note}`` (absent keys are None);
    a legacy string is an in-person referral with the string as its note."""
    if isinstance(stored, str):
        return {"kind": "in_person", "code": None, "specialty": None, "note": stored}
    return {
        "kind": stored["kind"],
        "code": stored.get("code"),
        "specialty": stored.get("specialty"),
        "note": stored.get("note"),
    }


def title_of(item: dict[str, str | None], lang: str = "ru") -> str | None:
    """What the referral is to: the service's title, or the specialty's name, or None."""
    if item.get("code") and (service := referral_catalogue.lookup(item["code"])):
        return service.title(lang)
    if item.get("specialty") and (spec := BY_CODE.get(item["specialty"] or "")):
        return spec.name_en if lang == "en" else spec.name_ru
    return None


def describe(stored: dict | str) -> dict[str, str | None]:
    """The API's shape plus ``title`` (Russian, as on the signed document)."""
    item = normalize(stored)
    return item | {"title": title_of(item)}


def search_words(stored: Sequence[dict | str]) -> list[str]:
    """The words of the referrals the e-card's text filter finds (titles and notes)."""
    words = []
    for item in map(normalize, stored):
        words += [w for w in (title_of(item), item["note"], item["code"]) if w]
    return words


def issue_for(session: Session, conclusion: Conclusion, now: datetime) -> list[Referral]:
    """Create the ``Referral`` rows of a conclusion being signed, one per item in order (the
    signing announces them to the member: ``referral_issued``)."""
    rows = []
    for position, item in enumerate(map(normalize, conclusion.referrals or [])):
        row = Referral(
            patient_id=conclusion.patient_id,
            consultation_id=conclusion.consultation_id,
            conclusion_id=conclusion.id,
            position=position,
            kind=item["kind"],
            code=item["code"],
            specialty_code=item["specialty"],
            note=item["note"] or "",
            issued_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


@dataclass(frozen=True, slots=True)
class Booking:
    """A consultation that may use a specialist referral."""

    id: int
    patient_id: int
    specialty_code: str
    created_at: datetime


def valid_until(issued_at: datetime) -> datetime:
    return issued_at + timedelta(days=VALID_DAYS)


def match_bookings(referrals: Iterable[Referral], bookings: Iterable[Booking]) -> dict[int, int]:
    """Referral id → the consultation that uses it: for each specialist referral, oldest first, the
    earliest unused booking of its patient and specialty made while it was valid."""
    free = sorted(bookings, key=lambda b: (b.created_at, b.id))
    used: dict[int, int] = {}
    for r in sorted(referrals, key=lambda r: (r.issued_at, r.id)):
        if r.kind != "specialist":
            continue
        for b in free:
            if (
                b.patient_id == r.patient_id
                and b.specialty_code == r.specialty_code
                and r.issued_at <= b.created_at < valid_until(r.issued_at)
            ):
                used[r.id] = b.id
                free.remove(b)
                break
    return used


def status_of(referral: Referral, booked_by: int | None, now: datetime) -> Status:
    if booked_by is not None:
        return Status.BOOKED
    return Status.EXPIRED if now >= valid_until(referral.issued_at) else Status.ISSUED


def list_for(
    session: Session, actor: Actor, *, now: datetime, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The referrals of the member and of the dependants in their care, newest first, each with its
    status; ``NotPermitted`` for anyone but a member (doctors see them in the conclusions). Bookings
    are matched over all of them (``match_bookings``), then the page is cut."""
    if not actor.is_member:
        raise errors.NotPermitted(_l("Referrals are listed for members: their own and their dependants'."))
    patients = {p.id: p for p in members.bookable_patients(session, actor.id)}
    rows = list(
        session.scalars(
            select(Referral)
            .where(Referral.patient_id.in_(patients))
            .order_by(Referral.issued_at.desc(), Referral.id)
        )
    )
    page = _with_bookings(session, rows)[offset : offset + limit]
    return [referral_json(r, patients[r.patient_id], booked, now) for r, booked in page]


def _with_bookings(session: Session, rows: list[Referral]) -> list[tuple[Referral, int | None]]:
    specialist = [r for r in rows if r.kind == "specialist"]
    bookings: list[Booking] = []
    if specialist:
        found = session.execute(
            select(
                Consultation.id, Consultation.patient_id, Consultation.specialty_code, Consultation.created_at
            ).where(
                Consultation.patient_id.in_({r.patient_id for r in specialist}),
                Consultation.specialty_code.in_({r.specialty_code for r in specialist}),
                Consultation.status.in_([s.value for s in BOOKED_STATUSES]),
                Consultation.created_at >= min(r.issued_at for r in specialist),
            )
        )
        bookings = [Booking(*row) for row in found]
    used = match_bookings(specialist, bookings)
    return [(r, used.get(r.id)) for r in rows]


def referral_json(r: Referral, patient: Patient, booked_by: int | None, now: datetime) -> dict[str, Any]:
    item = {"kind": r.kind, "code": r.code, "specialty": r.specialty_code, "note": r.note or None}
    return {
        "id": r.id,
        "patient": {"id": patient.id, "name": patient.full_name},
        "consultation_id": r.consultation_id,
        "conclusion_id": r.conclusion_id,
        **item,
        "title": title_of(item),
        "issued_at": r.issued_at.isoformat(timespec="seconds"),
        "valid_until": valid_until(r.issued_at).isoformat(timespec="seconds"),
        "status": status_of(r, booked_by, now).value,
        "booked_consultation_id": booked_by,
    }
