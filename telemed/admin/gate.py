"""The admin area's gate, checked before a request's input is read: anyone but an admin is
refused (403 ``forbidden``) whatever the body, and the refusal is in the audit log
(``admin_area``, the path asked for as the object, ``read`` for GET and ``write`` otherwise). The services
check the role again (``admin.access``): the gate only makes the answer independent of input."""

from __future__ import annotations

from flask import request

from telemed import errors
from telemed.admin.access import is_admin
from telemed.auth.actor import Actor
from telemed.auth.web import current_actor
from telemed.records.audit_web import log_access
from telemed.translatable import _l


def check(actor: Actor) -> None:
    """Refuse ``actor`` unless an admin (``NotPermitted``), logging the refusal."""
    if is_admin(actor):
        return
    action = "read" if request.method in ("GET", "HEAD") else "write"
    log_access(actor, "admin_area", action, "denied", object_id=request.path[:64], patient_id=None)
    raise errors.NotPermitted(_l("Only administrators may do this."))


def check_page() -> None:
    """The admin pages' ``before_request``: an anonymous visitor is sent to log in, anyone but an
    admin is refused before the form is read."""
    check(current_actor())
