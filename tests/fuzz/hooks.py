"""Schemathesis hooks for the API fuzz test (loaded with ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

The built-in ``positive_data_acceptance`` check is configured (``schemathesis.toml``) to let a
schema-valid request get 422, because a business rule answers 422 with its own code (``adult_only``,
``slot_unavailable``, ...) whatever the schema says. This check keeps the strict half of that
promise: input the document calls valid never fails the input layer. A schema-valid request never
gets 400, and a 422 ``validation_error`` only from the rules a JSON Schema cannot state, listed
below by operation and field.
"""

from __future__ import annotations

import re

import schemathesis

#: (operation, field) -> the rule the schema cannot state.
SEMANTIC_RULES = {
    ("GET /doctors/{id}/slots", "to"): "'to' follows 'from' by at most 62 days",
    ("POST /me/consent", "version"): "the version accepted is the current one",
    ("POST /consultations/{id}/cancel", "reason"): "the doctor must give a reason",
    ("POST /consultations/{id}/messages", "text"): "a message has a text or attachments",
    ("POST /consultations/{id}/messages", "attachment_ids"): "the sender's own unsent uploads",
    ("PUT /consultations/{id}/conclusion", "diagnosis.icd10"): "a code of the ICD-10 list",
    ("POST /patients/{id}/record/visits", "diagnosis.icd10"): "a code of the ICD-10 list",
    ("PUT /consultations/{id}/conclusion", "referrals[].code"): "a test has a code, other kinds none",
    ("PUT /consultations/{id}/conclusion", "referrals[].specialty"): "a specialist has one, a test none",
    ("POST /patients/{id}/record/visits", "date"): "a visit is not in the future",
    ("POST /admin/contracts", "ends_on"): "a contract does not end before it starts",
    ("PUT /admin/contracts/{id}", "ends_on"): "a contract does not end before it starts",
    ("POST /admin/doctors", "career_start"): "a career starts in the past, not before 1950",
    ("PUT /admin/doctors/{id}", "career_start"): "a career starts in the past, not before 1950",
    ("POST /admin/doctors", "user_id"): "an account of role doctor",
    ("PUT /admin/doctors/{id}", "user_id"): "an account of role doctor",
    ("PUT /admin/doctors/{id}/template", "timezone"): "a zone of the IANA database",
    ("PUT /admin/doctors/{id}/template", "days[].start"): "24:00 only ends a day",
    ("PUT /admin/doctors/{id}/template", "days[].end"): "a range ends after it starts",
    ("PUT /admin/doctors/{id}/template", "days"): "the hours of one weekday do not overlap",
    ("PUT /admin/doctors/{id}/template", "reason"): "cancelling booked consultations needs a reason",
    ("POST /admin/doctors/{id}/exceptions", "first_day"): "a day of the calendar",
    ("POST /admin/doctors/{id}/exceptions", "last_day"): "on or after the first day, within a year",
    ("POST /admin/roster", "starts_at"): "a moment between the years 1900 and 2199",
    ("POST /admin/roster", "ends_at"): "after the start, within 36 hours, not over already",
    ("POST /admin/roster", "doctor_id"): "an active doctor of the specialty",
    ("POST /admin/users", "email"): "an e-mail address",
}


@schemathesis.check
def valid_input_passes_the_input_layer(ctx, response, case):
    """A request the document calls valid is not refused as malformed or invalid."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code == 400:
        raise AssertionError(f"A schema-valid request was refused as malformed: {response.text[:300]}")
    if response.status_code != 422:
        return None
    error = (response.json() or {}).get("error") or {}
    if error.get("code") != "validation_error":
        return None  # a business rule's refusal
    field = re.sub(r"\[\d+\]", "[]", str((error.get("details") or {}).get("field")))
    if (case.operation.label, field) not in SEMANTIC_RULES:
        raise AssertionError(
            f"A schema-valid request failed validation of {field!r}: {error.get('message')!r}"
        )
    return None
