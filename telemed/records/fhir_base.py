"""The shared parts of the FHIR R4 export (``records.fhir``): code systems, stable ids, and the
small builders every resource uses (narrative, names, references checked against the export)."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:telemed")
POLICY_SYSTEM = "urn:telemed:policy"
CONCLUSION_SYSTEM = "urn:telemed:conclusion"
SHA256_EXTENSION = "urn:telemed:fhir:sha256"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
ACT_PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC_SYSTEM = "http://loinc.org"
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED_LABEL = {"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"}
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
ATTACHMENT_URL = "/api/v1/attachments/{id}"
_XHTML = "http://www.w3.org/1999/xhtml"

Json = dict[str, Any]


def full_url(resource_type: str, db_id: int | str, namespace: uuid.UUID = NAMESPACE) -> str:
    """``urn:uuid:...`` derived from ``"<resource_type>/<db_id>"``."""
    return f"urn:uuid:{uuid.uuid5(namespace, f'{resource_type}/{db_id}')}"


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def narrative(lines: Iterable[str]) -> Json:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line.strip())
    return {"status": "generated", "div": f'<div xmlns="{_XHTML}">{body}</div>'}


def human_name(text: str, family: str | None, given: Sequence[str]) -> Json:
    name: Json = {"use": "official", "text": text}
    if family:
        name["family"] = family
    if given:
        name["given"] = list(given)
    return name


class Refs:
    """Maps (type, db id) to fullUrls and checks that referenced rows exist."""

    def __init__(self, namespace: uuid.UUID) -> None:
        self.namespace = namespace
        self.known: set[tuple[str, int | str]] = set()

    def add(self, resource_type: str, db_id: int | str) -> str:
        key = (resource_type, db_id)
        if key in self.known:
            raise ValueError(f"duplicate {resource_type} id {db_id}")
        self.known.add(key)
        return full_url(resource_type, db_id, self.namespace)

    def ref(self, resource_type: str, db_id: int) -> Json:
        if (resource_type, db_id) not in self.known:
            raise ValueError(f"reference to {resource_type} {db_id} that is not in the export")
        return {"reference": full_url(resource_type, db_id, self.namespace)}


def bundle_entry(url: str, resource: Json) -> Json:
    resource_type = resource.pop("resourceType")
    identified = {"resourceType": resource_type, "id": url.removeprefix("urn:uuid:"), **resource}
    return {"fullUrl": url, "resource": identified}
