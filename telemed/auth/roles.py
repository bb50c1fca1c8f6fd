"""The roles of users (see DESIGN.md §1)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    DOCTOR = "doctor"
    RECORDS = "records"
    ADMIN = "admin"
    CURATOR = "curator"  # the insurer's curator service: complaints, second opinions


#: Staff who browse any patient's e-card and search patients.
RECORDS_STAFF = frozenset({Role.RECORDS, Role.ADMIN})

#: Staff: every role but the member's. They need a second factor, and their logins end when idle.
STAFF = frozenset({Role.DOCTOR, Role.RECORDS, Role.ADMIN, Role.CURATOR})
