"""Response schemas of the admin area's contracts and insured-list imports (``api/openapi.py``
merges them in; the requests are declared beside their handlers in ``api/admin_contracts.py``)."""

from __future__ import annotations

from telemed.admin.contracts import FIELDS

SCHEMAS: dict[str, dict] = {
    "AdminContract": {
        "type": "object",
        "required": ["id", *FIELDS],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "client": {"type": "string"},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "telemedicine": {"type": "boolean"},
            "urgent": {"type": "boolean"},
            "covered_specialties": {"type": "array", "items": {"type": "string"}},
            "psychologist_limit": {"type": "integer"},
        },
    },
    "InsuredImport": {
        "type": "object",
        "required": ["applied", "rows", "created", "updated", "unchanged", "errors"],
        "properties": {
            "applied": {"type": "boolean"},
            "rows": {"type": "integer"},
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["line", "reason"],
                    "properties": {
                        "line": {"type": "integer"},
                        "reason": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
            },
        },
    },
}
