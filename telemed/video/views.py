"""Pages: the pre-call check of camera, microphone and connection ("проверка связи")."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

from telemed.api.video import ice_config
from telemed.video.runtime import time_limit_s
from telemed.web import current_actor

bp = Blueprint("video", __name__)


@bp.get("/check")
def check():
    """Camera, microphone and connection check against the server's echo peer (any logged-in user)."""
    actor = current_actor()
    config = {
        "offerUrl": url_for("api.media_check_offer"),
        "iceServers": ice_config(actor.id)["iceServers"],  # the same STUN/TURN as a real call
        "timeLimitS": time_limit_s(current_app),
    }
    return render_template("video/check.html", config=config)
