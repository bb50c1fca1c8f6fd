"""The JSON API under ``/api/v1``: thin handlers over the domain services.

Every error is ``{"error": {"code", "message"}}`` (see ``telemed.errors``).
Lists are JSON arrays; ``limit``/``offset`` page them where noted.
"""

from flask import Blueprint, request

from telemed.admin import gate as admin_gate
from telemed.auth.web import current_actor

ADMIN_PREFIX = "/api/v1/admin/"

api = Blueprint("api", __name__, url_prefix="/api/v1")

#: Operations anyone may call; every other one needs a logged-in user or a bearer token.
PUBLIC_ENDPOINTS = frozenset({"api.issue_token", "api.openapi_json", "api.asyncapi_json"})


@api.before_request
def _authenticate_first() -> None:
    """Who is asking is checked before anything of the request is read: an anonymous caller gets
    401 whatever the body or the query holds (and writes nothing, the audit log included), and
    anyone but an admin gets 403 ``forbidden`` from every ``/api/v1/admin/…`` endpoint."""
    if request.endpoint not in PUBLIC_ENDPOINTS:
        actor = current_actor()
        if request.path.startswith(ADMIN_PREFIX):
            admin_gate.check(actor)


from telemed.api import (  # noqa: E402,F401
    account,
    admin_contracts,
    admin_doctors,
    admin_roster,
    admin_schedules,
    admin_users,
    asyncapi,
    auth,
    catalog,
    chat,
    consultations,
    feedback,
    media_check,
    notifications,
    openapi,
    opinions,
    records,
    referrals,
    urgent,
    video,
)
