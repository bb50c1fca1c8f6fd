"""API: ICE servers (STUN, and TURN with short-lived coturn REST credentials) for a consultation's call."""

from __future__ import annotations

import time

from flask import current_app, jsonify

from telemed.api import api
from telemed.scheduling import service as scheduling
from telemed.video import ice
from telemed.web import current_actor, database


def ice_config(user_id: int) -> dict:
    """``{iceServers, ttl, iceTransportPolicy}``: what the browser builds its RTCPeerConnection from."""
    cfg = current_app.config
    config = ice.ice_servers(
        stun_urls=ice.parse_url_list(cfg["STUN_URLS"]),
        turn_urls=ice.parse_url_list(cfg["TURN_URLS"]),
        turn_secret=cfg["TURN_SECRET"],
        user_id=user_id,
        ttl=int(cfg["TURN_TTL_SECONDS"]),
        now=int(time.time()),
    )
    config["iceTransportPolicy"] = cfg["ICE_TRANSPORT_POLICY"]
    return config


@api.get("/consultations/<int:consultation_id>/ice-servers")
def consultation_ice_servers(consultation_id: int):
    """``{iceServers, ttl, iceTransportPolicy}`` for this consultation's participants only (404 to anyone else)."""
    actor = current_actor()
    with database().session() as s:
        scheduling.get_for(s, actor, consultation_id)
    response = jsonify(ice_config(actor.id))
    response.headers["Cache-Control"] = "no-store"
    return response
