"""The acting user, as the domain layer sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is asking. Domain services take an ``Actor`` explicitly, never a global."""

    id: int
    role: str
    name: str

    @property
    def is_member(self) -> bool:
        return self.role == "member"

    @property
    def is_doctor(self) -> bool:
        return self.role == "doctor"

    @property
    def is_staff(self) -> bool:
        return self.role in ("records", "admin")
