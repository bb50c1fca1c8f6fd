"""Doctor catalog reference data: the specialties."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.catalog.models import Specialty


def specialties(session: Session) -> list[Specialty]:
    return list(session.scalars(select(Specialty).order_by(Specialty.position)))
