"""Pages: the pre-call check of camera, microphone and connection ("проверка связи")."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template, url_for

from telemed.auth.web import current_actor
from telemed.headers import allow_camera_and_microphone
from telemed.video.ice import ice_config
from telemed.video.runtime import time_limit_s

bp = Blueprint("video", __name__)


@bp.get("/check")
def check():
    """Camera, microphone and connection check against the server's echo peer (any logged-in user)."""
    actor = current_actor()
    allow_camera_and_microphone()
    ice = ice_config(current_app.config, actor.id, now=int(time.time()))  # the same STUN/TURN as a call
    config = {
        "offerUrl": url_for("api.media_check_offer"),
        "iceServers": ice["iceServers"],
        "timeLimitS": time_limit_s(current_app),
    }
    return render_template("video/check.html", config=config)
