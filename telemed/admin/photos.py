"""Doctors' photos: a PNG or JPEG of at most 2 MB (the type sniffed from the bytes,
``documents.filetypes.sniff_image_stream``), kept in object storage (``telemed.storage``) under a
random key; the row names the key, type and checksum. Replacing a photo deletes the old object
after the row points to the new one; a failed row write deletes the new object."""

from __future__ import annotations

import logging

from telemed import errors
from telemed.admin import access
from telemed.auth.actor import Actor
from telemed.catalog.models import Doctor
from telemed.db import Database
from telemed.documents.filetypes import sniff_image_stream
from telemed.storage import Readable, Storage
from telemed.storage.base import quietly
from telemed.translatable import _l

log = logging.getLogger(__name__)
MAX_PHOTO = 2 * 1024 * 1024


def set_photo(db: Database, storage: Storage, actor: Actor, doctor_id: int, stream: Readable) -> Doctor:
    """Store ``stream`` as the doctor's photo (admins only); returns the doctor (committed)."""
    access.check_admin(actor)
    with db.session() as s:
        if s.get(Doctor, doctor_id) is None:
            raise errors.NotFound(_l("Doctor not found."))
    content_type, replay = sniff_image_stream(stream)
    stored = storage.put_stream(replay, content_type=content_type, max_size=MAX_PHOTO)
    try:
        with db.transaction() as s:
            doctor = s.get(Doctor, doctor_id)
            if doctor is None:
                raise errors.NotFound(_l("Doctor not found."))
            old = doctor.photo_key
            doctor.photo_key, doctor.photo_type, doctor.photo_sha256 = (
                stored.key,
                stored.content_type,
                stored.sha256,
            )
    except BaseException:
        quietly(storage.delete, stored.key)
        raise
    if old:
        quietly(storage.delete, old)
    return doctor


def photo_of(db: Database, doctor_id: int) -> tuple[str, str, str]:
    """``(key, content type, sha256)`` of the doctor's photo; ``NotFound`` without one."""
    with db.session() as s:
        doctor = s.get(Doctor, doctor_id)
        if doctor is None or doctor.photo_key is None:
            raise errors.NotFound(_l("No photo."))
        return doctor.photo_key, doctor.photo_type or "", doctor.photo_sha256 or ""
