"""Page: the video room of a consultation (video, controls, waiting room, chat beside it)."""

from __future__ import annotations

from flask import Blueprint, render_template

from telemed.auth.web import current_actor
from telemed.headers import allow_camera_and_microphone
from telemed.scheduling import service as scheduling
from telemed.scheduling.access import may_finish
from telemed.web import db_session

bp = Blueprint("room", __name__)


@bp.get("/consultations/<int:consultation_id>/room")
def room(consultation_id: int):
    """The consultation's video room; 404 to anyone not party to it."""
    actor = current_actor()
    c = scheduling.get_for(db_session(), actor, consultation_id)
    allow_camera_and_microphone()
    return render_template("video/room.html", c=c, finishable=may_finish(actor, c))
