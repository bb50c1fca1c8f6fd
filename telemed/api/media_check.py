"""API: the pre-call device check (the browser's WebRTC offer in, the echo peer's answer out)."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from telemed.api import api
from telemed.api.contract import Body, Raw, documented
from telemed.api.openapi_parts import json_response
from telemed.auth import service as auth_service
from telemed.auth.web import current_actor
from telemed.extensions import limiter
from telemed.translatable import _l
from telemed.video.media_check import InvalidOffer
from telemed.video.runtime import media_check_service
from telemed.web import db_session

MAX_OFFER_BYTES = 20 * 1024  # a browser's audio+video offer with its candidates is 4-8 kB
MAX_BODY_BYTES = 2 * MAX_OFFER_BYTES  # JSON escaping of the SDP's CRLFs
DEFAULT_RATE_LIMIT = "6 per minute;30 per hour"
OFFER = Body(
    "MediaCheckOffer",
    (
        Raw(
            "sdp",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_OFFER_BYTES,
                "description": f"The session description, at most {MAX_OFFER_BYTES} bytes of UTF-8",
            },
            required=True,
        ),
        Raw("type", {"type": "string", "enum": ["offer"]}, required=True),
    ),
)
ANSWER = {
    "type": "object",
    "required": ["sdp", "type"],
    "properties": {"sdp": {"type": "string"}, "type": {"type": "string", "enum": ["answer"]}},
}


def _rate_limit() -> str:
    return current_app.config.get("MEDIA_CHECK_RATE_LIMIT") or DEFAULT_RATE_LIMIT


def _user_key() -> str:
    """Per user when logged in; anonymous requests (refused anyway) count per address."""
    if current_user.is_authenticated:
        return f"media-check:user:{current_user.user_id}"
    return f"media-check:addr:{get_remote_address()}"


def _offer() -> tuple[str, str]:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise InvalidOffer(_l("The offer is too large."))
    request.max_content_length = MAX_BODY_BYTES  # also bounds a chunked body
    data = OFFER.read()
    sdp, kind = data["sdp"], data["type"]
    if kind != "offer":
        raise InvalidOffer(_l("'type' must be \"offer\"."), details={"field": "type"})
    if not isinstance(sdp, str) or not sdp.strip():
        raise InvalidOffer(_l("'sdp' must be a non-empty string."), details={"field": "sdp"})
    if len(sdp.encode("utf-8")) > MAX_OFFER_BYTES:
        raise InvalidOffer(
            _l("'sdp' is longer than %(limit)s bytes.", limit=MAX_OFFER_BYTES),
            details={"field": "sdp"},
        )
    return sdp, kind


@api.post("/media-check/offer")
@limiter.limit(_rate_limit, key_func=_user_key)
@documented(json_response(ANSWER, "The answer"), errors=(403, 429, 503), body=OFFER)
def media_check_offer():
    """Pre-call device check: send a WebRTC offer (complete ICE, no trickle), get the server's answer.

    The server peer sends the camera and microphone back on the same connection and closes when
    the browser hangs up, fails, or after the time limit. 422 ``invalid_offer``, ``consent_required``
    (a member who withdrew consent); 429
    ``rate_limited``; 503 ``media_check_busy``.
    """
    auth_service.require_consent(db_session(), current_actor(), current_app.config["CONSENT_VERSION"])
    sdp, kind = _offer()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return jsonify(media_check_service(app).answer(sdp, kind))
