"""Who may act for an insured person (pure)."""

from __future__ import annotations


def may_act_for(user_id: int, *, patient_user_id: int | None, is_guardian: bool) -> bool:
    """A user acts for a patient who is themselves (their own record) or a child in their care."""
    return patient_user_id == user_id or is_guardian
