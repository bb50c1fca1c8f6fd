"""The acting user, as the domain layer sees it."""

from __future__ import annotations

from dataclasses import dataclass

from telemed.auth.roles import RECORDS_STAFF, Role


@dataclass(frozen=True)
class Actor:
    """Who is asking. Domain services take an ``Actor`` explicitly, never a global."""

    id: int
    role: str
    name: str

    @property
    def is_member(self) -> bool:
        return self.role == Role.MEMBER

    @property
    def is_doctor(self) -> bool:
        return self.role == Role.DOCTOR

    @property
    def is_curator(self) -> bool:
        """The insurer's curator service: complaints and second opinions, not the e-card."""
        return self.role == Role.CURATOR

    @property
    def is_staff(self) -> bool:
        """Records staff or an admin: may browse any patient's e-card."""
        return self.role in RECORDS_STAFF
