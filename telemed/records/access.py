"""Who may do what with the e-medical record (e-card): pure decisions over facts already loaded.

A refusal to read is answered ``NotFound`` (no existence leak); a refusal to act on something the
actor may see (a patient writing a conclusion) is ``NotPermitted``.
"""

from __future__ import annotations

from datetime import datetime

from telemed.auth.actor import Actor
from telemed.scheduling.access import ConsultationFacts, is_doctor_of
from telemed.scheduling.status import Status


def may_read_record(actor: Actor, *, acts_for_patient: bool, doctor_cares: bool) -> bool:
    """The patient, a guardian, records staff and admins, and a doctor caring for the patient now
    (a consultation from booking until 30 days after it: ``ecard.CARE_WINDOW``)."""
    return actor.is_staff or acts_for_patient or (actor.is_doctor and doctor_cares)


def sees_whole_record(actor: Actor, *, acts_for_patient: bool) -> bool:
    """The patient, a guardian, records staff and admins see every entry of the e-card in full."""
    return actor.is_staff or acts_for_patient


def sees_entry(*, sees_whole_record: bool, need_to_know: bool, shared: bool, held_by_reader: bool) -> bool:
    """Mental health is need-to-know: a psychologist's entry (``need_to_know``) is seen in full by
    those who see the whole record, by the psychologist who held the consultation
    (``held_by_reader``) and, once the patient shared it («Показать врачам»), by every doctor caring
    for the patient. Anyone else who may read the e-card learns only that it exists: its kind, date
    and specialty."""
    return sees_whole_record or not need_to_know or shared or held_by_reader


def may_share_entry(*, acts_for_patient: bool) -> bool:
    """Only the patient (or a guardian) shows a need-to-know entry to doctors, or hides it again."""
    return acts_for_patient


def may_read_access_log(actor: Actor, *, is_own_record: bool, may_read: bool) -> bool:
    """Who looked at a record is shown to whoever may read it, except doctors (unless it is their own)."""
    return may_read and (not actor.is_doctor or is_own_record)


def may_search_patients(actor: Actor) -> bool:
    return actor.is_staff


def may_add_visit(actor: Actor) -> bool:
    """In-person visits and their documents are entered by records staff and admins."""
    return actor.is_staff


def may_write_conclusion(actor: Actor, c: ConsultationFacts) -> bool:
    """Only the consultation's doctor writes, signs and amends its conclusion."""
    return is_doctor_of(actor, c)


def has_started(c: ConsultationFacts, now: datetime) -> bool:
    """A conclusion may be signed once its consultation has started: it is in progress or completed
    (the doctor entered the room, or took the urgent request), or its start time has come."""
    if c.status in (Status.IN_PROGRESS, Status.COMPLETED):
        return True
    return c.status == Status.SCHEDULED and c.starts_at is not None and c.starts_at <= now


def may_read_conclusion(actor: Actor, c: ConsultationFacts, *, signed: bool) -> bool:
    """A party to the consultation reads the signed conclusion; its doctor also the draft."""
    return signed or is_doctor_of(actor, c)


def may_search_icd10(actor: Actor) -> bool:
    return actor.is_doctor or actor.is_staff


def may_search_referral_catalogue(actor: Actor) -> bool:
    """The catalogue of tests and studies is for those who refer or keep records: doctors, records
    staff and admins (members read their referrals' titles in their conclusions)."""
    return actor.is_doctor or actor.is_staff
