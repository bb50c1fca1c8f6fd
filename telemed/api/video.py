"""API: ICE servers (STUN, and TURN with short-lived coturn REST credentials) for a consultation's call."""

from __future__ import annotations

import time

from flask import current_app, jsonify

from telemed.api import api
from telemed.api.contract import documented
from telemed.api.openapi_parts import json_response, ref
from telemed.auth.web import current_actor
from telemed.scheduling import service as scheduling
from telemed.video import ice
from telemed.web import database


@api.get("/consultations/<int:consultation_id>/ice-servers")
@documented(json_response(ref("IceConfig")))
def consultation_ice_servers(consultation_id: int):
    """ICE servers for the call: STUN, and TURN with time-limited credentials (coturn REST scheme).

    For the consultation's participants only (404 to anyone else)."""
    actor = current_actor()
    with database().session() as s:
        scheduling.get_for(s, actor, consultation_id)
    response = jsonify(ice.ice_config(current_app.config, actor.id, now=int(time.time())))
    response.headers["Cache-Control"] = "no-store"
    return response
