"""The JSON API under ``/api/v1``: thin handlers over the domain services.

Every error is ``{"error": {"code", "message"}}`` (see ``telemed.errors``).
Lists are JSON arrays; ``limit``/``offset`` page them where noted.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, request

from telemed.auth.web import current_actor

api = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])

#: Operations anyone may call; every other one needs a logged-in user or a bearer token.
PUBLIC_ENDPOINTS = frozenset({"api.issue_token", "api.openapi_json", "api.asyncapi_json"})


def audits_access(view: F) -> F:
    """Mark a handler that authenticates inside ``records.audit_web.audited`` (which records an
    anonymous caller's denial in the audit log): ``_authenticate_first`` leaves it to the handler,
    which reads no input before ``audited`` has authenticated."""
    view.audits_access = True  # type: ignore[attr-defined]
    return view


@api.before_request
def _authenticate_first() -> None:
    """Who is asking is checked before anything of the request is read: an anonymous caller gets
    401 whatever the body or the query holds."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint not in PUBLIC_ENDPOINTS and not getattr(view, "audits_access", False):
        current_actor()


from telemed.api import (  # noqa: E402,F401
    asyncapi,
    auth,
    catalog,
    chat,
    consultations,
    media_check,
    openapi,
    records,
    urgent,
    video,
)
