"""Domain errors and their mapping to HTTP responses and socket acks.

Every error the domain raises is a :class:`DomainError` with a stable machine
``code`` (part of the public API contract), an HTTP ``status`` and a message a
person can read (a translatable :class:`~telemed.translatable.Text`). Views, API handlers
and socket events never invent codes of their own: they raise or catch these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telemed.translatable import Text, _l, render


class DomainError(Exception):
    """Base of every expected, user-facing failure."""

    code = "error"
    status = 400
    default_message: Text = _l("The request could not be completed.")

    def __init__(self, message: str | Text | None = None, *, details: dict[str, Any] | None = None):
        self.text: str | Text = message or self.default_message
        super().__init__(str(self.text))
        self.details = details or {}

    @property
    def message(self) -> str:
        """The message in English."""
        return str(self.text)

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message translated with ``gettext`` (English without one)."""
        return render(self.text, gettext)

    def to_dict(self, gettext: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The documented error shape ``{"error": {"code", "message"}}``, the message translated
        with ``gettext`` (English without one)."""
        body: dict[str, Any] = {"code": self.code, "message": self.render(gettext)}
        if self.details:
            body["details"] = self.details
        return {"error": body}


def _error(name: str, code: str, status: int, message: Text) -> type[DomainError]:
    return type(name, (DomainError,), {"code": code, "status": status, "default_message": message})


# Generic
BadRequest = _error("BadRequest", "bad_request", 400, _l("The request is malformed."))
ValidationFailed = _error("ValidationFailed", "validation_error", 422, _l("Some fields are invalid."))
NotAuthenticated = _error("NotAuthenticated", "not_authenticated", 401, _l("Please log in."))
InvalidCredentials = _error(
    "InvalidCredentials", "invalid_credentials", 401, _l("Wrong username or password.")
)
NotPermitted = _error("NotPermitted", "forbidden", 403, _l("You are not allowed to do this."))
NotFound = _error("NotFound", "not_found", 404, _l("Not found."))
Conflict = _error("Conflict", "conflict", 409, _l("The request conflicts with the current state."))
InternalError = _error(
    "InternalError", "internal_error", 500, _l("Something went wrong on our side. Please try again.")
)
OtpRequired = _error(
    "OtpRequired", "otp_required", 401, _l("Enter the code from your authenticator app ('otp').")
)
InvalidOtp = _error(
    "InvalidOtp", "invalid_otp", 401, _l("The authenticator code is wrong or was already used.")
)
#: ``OtpRequired``'s message for a staff user without an authenticator yet.
ENROL_FIRST = _l("Log in on the web first to set up your authenticator app; then pass its code as 'otp'.")
RateLimited = _error("RateLimited", "rate_limited", 429, _l("Too many attempts. Please wait and try again."))
PayloadTooLarge = _error("PayloadTooLarge", "payload_too_large", 413, _l("The request is too large."))

# Accounts
WeakPassword = _error(
    "WeakPassword",
    "weak_password",
    422,
    _l(
        "This password is too easy to guess: it is common or built from your own data. Use a longer "
        "phrase of several unrelated words."
    ),
)

# Booking
SlotTaken = _error("SlotTaken", "slot_taken", 409, _l("This time slot has just been booked by someone else."))
SlotUnavailable = _error("SlotUnavailable", "slot_unavailable", 422, _l("This time slot cannot be booked."))
LimitReached = _error(
    "LimitReached",
    "limit_reached",
    422,
    _l("The contract's limit of consultations with this specialist is used up."),
)
AdultOnly = _error("AdultOnly", "adult_only", 422, _l("This specialist consults adults only (18 or over)."))
NotCovered = _error(
    "NotCovered",
    "not_covered",
    422,
    _l("The insurance programme does not cover this service for this patient."),
)
PolicyInactive = _error(
    "PolicyInactive", "policy_inactive", 422, _l("The patient has no insurance policy active on that date.")
)
ConsentRequired = _error(
    "ConsentRequired", "consent_required", 422, _l("Consent to personal-data processing is required first.")
)
NotGuardian = _error(
    "NotGuardian", "not_guardian", 422, _l("You can book only for yourself or a child in your care.")
)
NotCancellable = _error(
    "NotCancellable", "not_cancellable", 409, _l("This consultation can no longer be cancelled.")
)

NotInProgress = _error("NotInProgress", "not_in_progress", 409, _l("The consultation is not in progress."))

# Urgent queue
AlreadyWaiting = _error(
    "AlreadyWaiting",
    "already_waiting",
    409,
    _l("This patient already has an urgent consultation waiting or in progress."),
)
AlreadyClaimed = _error(
    "AlreadyClaimed", "already_claimed", 409, _l("Another doctor has already taken this request.")
)
Busy = _error(
    "Busy", "busy", 409, _l("Finish your urgent consultation in progress before taking another one.")
)

# Storage and uploads
StorageUnavailable = _error(
    "StorageUnavailable",
    "storage_unavailable",
    503,
    _l("File storage is temporarily unavailable. Please try again."),
)
FileTooLarge = _error("FileTooLarge", "file_too_large", 413, _l("The file is too large."))
UnsupportedType = _error(
    "UnsupportedType",
    "unsupported_type",
    415,
    _l("This file type is not accepted. Use PDF, JPEG, PNG, HEIC, DICOM or plain text."),
)
EmptyFile = _error("EmptyFile", "empty_file", 422, _l("The file is empty."))
UnsafeDocument = _error(
    "UnsafeDocument",
    "unsafe_document",
    422,
    _l("This PDF contains scripts (JavaScript actions) and is not accepted. Save or scan it as a plain PDF."),
)
IntegrityFailure = _error(
    "IntegrityFailure", "integrity_error", 500, _l("The stored file failed its checksum.")
)

# Chat
ChatReadOnly = _error("ChatReadOnly", "chat_read_only", 409, _l("This chat is read-only now."))

# Video rooms
RoomClosed = _error("RoomClosed", "room_closed", 409, _l("The video room is not open now."))
ConsultationCancelled = _error(
    "ConsultationCancelled", "consultation_cancelled", 409, _l("The consultation was cancelled.")
)
NotJoined = _error("NotJoined", "not_joined", 409, _l("Join the consultation before signaling."))

# Records
ConclusionSigned = _error(
    "ConclusionSigned",
    "conclusion_signed",
    409,
    _l("The conclusion is signed and can no longer be changed. Add an addendum instead."),
)
ConsultationNotStarted = _error(
    "ConsultationNotStarted",
    "consultation_not_started",
    409,
    _l("The consultation has not started yet; its conclusion is signed once it has."),
)
NotSigned = _error("NotSigned", "not_signed", 409, _l("The conclusion is not signed yet."))
SigningOtpInvalid = _error(
    "SigningOtpInvalid",
    "invalid_otp",
    403,
    _l("The authenticator code is missing, wrong or already used; the conclusion was not signed."),
)
InvalidPassword = _error(
    "InvalidPassword", "invalid_password", 403, _l("The password is wrong; the conclusion was not signed.")
)

# Feedback: the member's confirmation and rating, complaints
ConsultationNotEnded = _error(
    "ConsultationNotEnded",
    "consultation_not_ended",
    409,
    _l("The consultation has not ended yet (or was cancelled); it is rated once it has ended."),
)
RatingClosed = _error(
    "RatingClosed", "rating_closed", 409, _l("The rating can be changed for 7 days only; that time is over.")
)
BadTransition = _error(
    "BadTransition", "bad_transition", 409, _l("This change of status is not allowed from the current one.")
)

# Second medical opinion
OpinionAlreadyGiven = _error(
    "OpinionAlreadyGiven",
    "opinion_already_given",
    409,
    _l("A second opinion on this condition was already requested for this patient under this contract."),
)
ReportMissing = _error(
    "ReportMissing", "report_missing", 409, _l("Upload the expert's report before issuing it.")
)
