"""API: chat messages and attachments (the REST twins of the Socket.IO events)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request, stream_with_context

from telemed import errors, inputs
from telemed.api import api
from telemed.api.contract import TEXT_PATTERN, Body, IntParam, Raw, documented
from telemed.api.openapi_parts import ATTACHMENT_BYTES, array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.chat import attachments
from telemed.chat import service as chat
from telemed.chat.events import message_writer
from telemed.chat.writer import Outgoing
from telemed.content_disposition import attachment_header
from telemed.documents.filetypes import filename_for
from telemed.documents.multipart import MultipartFileReader
from telemed.documents.store import attachment_json
from telemed.opinions import service as opinions
from telemed.records import attachments as record_documents
from telemed.records.audit_web import audited
from telemed.translatable import _l
from telemed.web import close_db_session, database, now

MULTIPART_OVERHEAD = 64 * 1024
AFTER = IntParam("after", 0, hi=inputs.ID_MAX)
HISTORY_LIMIT = IntParam("limit", chat.HISTORY_DEFAULT, lo=1, hi=chat.HISTORY_MAX)
MESSAGE = Body(
    "MessageRequest",
    (
        Raw("text", {"type": ["string", "null"], "maxLength": chat.TEXT_MAX, "pattern": TEXT_PATTERN}),
        Raw(
            "attachment_ids",
            {
                "type": ["array", "null"],
                "items": {"type": "integer", "minimum": 1},
                "maxItems": chat.ATTACHMENTS_MAX,
                "description": "The sender's own unsent uploads of this consultation",
            },
        ),
    ),
    description="A text, attachments, or both (422 when both are empty)",
)


def max_upload() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


@api.get("/consultations/<int:consultation_id>/messages")
@documented(json_response(array_of("Message")), query=(AFTER, HISTORY_LIMIT))
def list_messages(consultation_id: int):
    """Chat history: the last ``limit`` (default 50), or the first ``limit`` after message id ``after``."""
    after, limit = AFTER.read() or None, HISTORY_LIMIT.read()
    with audited("chat", "read", object_id=consultation_id) as ctx, database().session() as s:
        messages = chat.history(s, ctx["actor"], consultation_id, after=after, limit=limit)
        body = [chat.message_json(m) for m in messages]
    return jsonify(body)


@api.post("/consultations/<int:consultation_id>/messages")
@documented(json_response(ref("Message"), "Sent"), status=201, errors=(409,), body=MESSAGE)
def post_message(consultation_id: int):
    """Send a chat message ``{text?, attachment_ids?}``: stored, then broadcast to the room like the
    socket event. 409 ``chat_read_only`` once the chat has closed."""
    actor = current_actor()
    data = MESSAGE.read()
    close_db_session()  # the writer takes its own connection: hold none while waiting for it
    payload = message_writer().send(
        Outgoing(actor, consultation_id, data.get("text"), data.get("attachment_ids"))
    )
    return jsonify(payload), 201


@api.post("/consultations/<int:consultation_id>/attachments")
@documented(
    json_response(ref("Attachment"), "Stored"), status=201, errors=(409, 413, 415, 503), multipart=True
)
def upload_attachment(consultation_id: int):
    """Upload a document (multipart field ``file``): PDF, JPEG, PNG, HEIC/HEIF, DICOM, plain text.

    Streamed to object storage; 201 with its facts.

    415 ``unsupported_type`` (decided from the bytes; text is checked whole), 422 ``empty_file``,
    422 ``unsafe_document`` (a PDF with JavaScript actions), 413 ``file_too_large``,
    503 ``storage_unavailable``; 404 to anyone not party to the consultation.
    """
    db, limit = database(), max_upload()
    open_hours = current_app.config["CHAT_OPEN_HOURS"]
    with audited("attachment", "write", object_id=f"consultation:{consultation_id}") as ctx:
        actor = ctx["actor"]
        consent = current_app.config["CONSENT_VERSION"]
        attachments.check_can_upload(
            db, actor, consultation_id, now=now(), open_hours=open_hours, consent_version=consent
        )
        reader = file_reader(limit)
        row = attachments.upload(
            db,
            current_app.extensions["telemed.storage"],
            actor,
            consultation_id,
            stream=reader,
            filename=reader.filename,
            now=now(),
            open_hours=open_hours,
            max_size=limit,
            consent_version=consent,
        )
        ctx["patient_id"], ctx["object_id"] = row.patient_id, row.id
    return jsonify(attachment_json(row, with_hash=True)), 201


def file_reader(limit: int) -> MultipartFileReader:
    """The multipart ``file`` field as a stream; a declared body over the limit is refused unread."""
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise errors.FileTooLarge(
            _l(
                "The file is larger than %(max_upload_mb)s MB.",
                max_upload_mb=current_app.config["MAX_UPLOAD_MB"],
            )
        )
    return MultipartFileReader(request.stream, request.headers.get("Content-Type"))


@api.post("/patients/<int:patient_id>/record/visits/<int:visit_id>/documents")
@documented(
    json_response(ref("Attachment"), "Stored"), status=201, errors=(403, 413, 415, 503), multipart=True
)
def upload_visit_document(patient_id: int, visit_id: int):
    """Records staff: attach a document to an in-person visit (multipart field ``file``), as chat uploads."""
    limit = max_upload()
    with audited("attachment", "write", patient_id=patient_id, object_id=f"visit:{visit_id}") as ctx:
        reader = file_reader(limit)
        row = record_documents.upload_visit_document(
            database(),
            current_app.extensions["telemed.storage"],
            ctx["actor"],
            patient_id,
            visit_id,
            stream=reader,
            filename=reader.filename,
            now=now(),
            max_size=limit,
        )
        ctx["object_id"] = row.id
    return jsonify(attachment_json(row, with_hash=True)), 201


@api.get("/attachments/<int:attachment_id>")
@documented(ATTACHMENT_BYTES, errors=(503,))
def download_attachment(attachment_id: int):
    """The attachment's bytes as a download (checksum verified while streaming); 404 to non-parties."""
    with audited("attachment", "read", object_id=attachment_id) as ctx:
        a = record_documents.attachment_for(
            database(), ctx["actor"], attachment_id, now=now(), also=opinions.may_read_document
        )
        ctx["patient_id"] = a.patient_id
    chunks = current_app.extensions["telemed.storage"].open(a.storage_key, expected_sha256=a.sha256)
    response = Response(stream_with_context(chunks), mimetype=a.content_type)
    # rows stored before names followed the sniffed type get its extension here
    response.headers["Content-Disposition"] = attachment_header(filename_for(a.filename, a.content_type))
    response.headers["Content-Length"] = str(a.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
