"""The JSON API under ``/api/v1``: thin handlers over the domain services.

Every error is ``{"error": {"code", "message"}}`` (see ``telemed.errors``).
Lists are JSON arrays; ``limit``/``offset`` page them where noted.
"""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

from telemed.api import (  # noqa: E402,F401
    asyncapi,
    auth,
    catalog,
    chat,
    consultations,
    media_check,
    openapi,
    records,
    video,
)
