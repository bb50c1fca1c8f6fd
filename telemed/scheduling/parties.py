"""Who is party to a consultation, defined once in SQL.

The parties of a consultation are its booker, its patient's own user, the patient's guardians and
its doctor. ``party_rows`` is the one definition; the single check (``scheduling.service.get_for``),
the lists (``list_for``) and the chat's batch check (``states_for_many``) are all built from it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, union_all
from sqlalchemy import select as sql_select

from telemed.catalog.models import Doctor
from telemed.members.models import Guardianship, Patient
from telemed.scheduling.models import Consultation


def party_rows(users: Any, consultation_ids: Any = None, *columns: Any) -> CompoundSelect:
    """``(consultation id, user_id, *columns)`` for each party among ``users`` of the consultations
    (all, or those in ``consultation_ids``). ``users`` and ``consultation_ids`` are anything
    ``in_`` accepts: a list, or an expanding ``bindparam`` for a cached statement.

    A user who is party in several ways (a guardian who booked) gives several rows.
    """
    own = (Consultation.id, *columns)
    branches = [
        sql_select(*own, Consultation.booked_by_id.label("user_id")).where(
            Consultation.booked_by_id.in_(users)
        ),
        sql_select(*own, Patient.user_id.label("user_id"))
        .join(Patient, Patient.id == Consultation.patient_id)
        .where(Patient.user_id.in_(users)),
        sql_select(*own, Guardianship.guardian_user_id.label("user_id"))
        .join(Guardianship, Guardianship.patient_id == Consultation.patient_id)
        .where(Guardianship.guardian_user_id.in_(users)),
        sql_select(*own, Doctor.user_id.label("user_id"))
        .join(Doctor, Doctor.id == Consultation.doctor_id)
        .where(Doctor.user_id.in_(users)),
    ]
    if consultation_ids is not None:
        branches = [b.where(Consultation.id.in_(consultation_ids)) for b in branches]
    return union_all(*branches)


def is_party(user_id: int, consultation_id: int | None = None) -> ColumnElement[bool]:
    """SQL condition on ``Consultation``: the user is party to it."""
    ids = None if consultation_id is None else [consultation_id]
    rows = party_rows([user_id], ids).subquery()
    return Consultation.id.in_(sql_select(rows.c.id))
