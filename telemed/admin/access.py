"""Who may use the admin area: admins only (``NotPermitted`` → 403 ``forbidden`` for anyone else)."""

from __future__ import annotations

from telemed import errors
from telemed.auth.actor import Actor
from telemed.auth.roles import Role
from telemed.translatable import _l


def is_admin(actor: Actor | None) -> bool:
    return actor is not None and actor.role == Role.ADMIN


def check_admin(actor: Actor | None) -> None:
    if not is_admin(actor):
        raise errors.NotPermitted(_l("Only administrators may do this."))
