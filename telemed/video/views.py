"""Pages: the pre-call check of camera, microphone and connection ("проверка связи"); and, on the
consultation page, whether the patient is waiting in the room (the ``presence`` panel)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template, url_for
from sqlalchemy import select

from telemed.auth.actor import Actor
from telemed.auth.web import current_actor
from telemed.headers import allow_camera_and_microphone
from telemed.scheduling.access import is_doctor_of
from telemed.scheduling.models import Consultation
from telemed.scheduling.views import CONSULTATION_PANELS
from telemed.video.ice import ice_config
from telemed.video.models import RoomPresence
from telemed.video.runtime import time_limit_s
from telemed.web import db_session

bp = Blueprint("video", __name__)


def presence_panel(actor: Actor, c: Consultation) -> dict | None:
    """For the consultation's doctor: whether the patient's side is in the room now («Пациент ожидает»)."""
    if not is_doctor_of(actor, c):
        return None
    others = db_session().scalar(
        select(RoomPresence.sid)
        .where(RoomPresence.consultation_id == c.id, RoomPresence.user_id != actor.id)
        .limit(1)
    )
    return {"patient_waiting": others is not None}


def _register(state) -> None:
    state.app.extensions.setdefault(CONSULTATION_PANELS, {})["presence"] = presence_panel


bp.record_once(_register)


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
