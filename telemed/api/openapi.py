"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Built from the app's URL map and each handler's ``@documented`` declaration (``api/contract.py``):
every route of the API is an operation, named (``operationId``) after its handler, summarised by
its docstring, with the inputs the handler reads and every status code a client can get.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from flask import Flask, current_app, jsonify

from telemed import inputs
from telemed.api import (
    api,
    openapi_admin_contracts,
    openapi_admin_doctors,
    openapi_after_visit,
    openapi_urgent,
)
from telemed.api.contract import Operation, documented
from telemed.api.openapi_parts import SCHEMAS, error_responses, json_response, param

_PATH_ARGUMENT = re.compile(r"<(?:int:)?(\w+)>")
_PATH_INT = re.compile(r"<int:(\w+)>")
#: A path argument without ``int:`` is an opaque id of this form (a login's, ``auth.logins.login_id``).
OPAQUE_ID = {
    "type": "string",
    "pattern": "^[0-9a-f]{32}$",
    "description": "An opaque id, as listed by the API; one that names nothing here is 404",
}
_METHODS = ("get", "put", "post", "delete", "patch")
_DESCRIPTION = """Teleconsultations for insured members.

Every error is `{"error": {"code", "message", "details"?}}` with a stable `code`. A client can get:
400 `bad_request` (a body that is not a JSON object, nests deeper than %(depth)s levels, or is not
sent as `application/json`), 401 `not_authenticated`, 403, 404 `not_found` (also for an object the
caller may not see, and for an id beyond %(id_max)s), 405 `method_not_allowed` (with an `Allow`
header) for a method a path does not have, 409, 413 `payload_too_large` (a JSON body over the
`TELEMED_MAX_JSON_KB` limit) or `file_too_large`, 415 `unsupported_type`, 422 (`validation_error`
with `details.field`, or a business rule's code), 429 `rate_limited`, 503."""


def _path(rule: str) -> tuple[str, list[tuple[str, bool]]]:
    """The OpenAPI path of a Flask rule under the API's prefix, and its arguments as ``(name,
    is_int)``; the first path argument is ``{id}``."""
    names = _PATH_ARGUMENT.findall(rule)
    ints = set(_PATH_INT.findall(rule))
    shown = {name: ("id" if i == 0 else name) for i, name in enumerate(names)}
    path = _PATH_ARGUMENT.sub(lambda m: "{" + shown[m[1]] + "}", rule.removeprefix(api.url_prefix or ""))
    return path, [(shown[n], n in ints) for n in names]


def _codes(op: Operation, has_path_id: bool) -> list[int]:
    codes = set(op.errors)
    if not op.public:
        codes.add(401)
    if has_path_id:
        codes.add(404)
    if op.body or op.multipart:
        codes |= {400, 413, 422}
    if op.query:
        codes.add(422)
    return sorted(codes)


def _operation(endpoint: str, view: Any, op: Operation, path_args: list[tuple[str, bool]]) -> dict:
    doc = inspect.cleandoc(view.__doc__ or endpoint)
    summary, _, description = doc.partition("\n\n")
    out: dict[str, Any] = {
        "operationId": endpoint.removeprefix(f"{api.name}."),
        "summary": " ".join(summary.split()),
        "responses": {str(op.status): op.ok, **error_responses(*_codes(op, bool(path_args)))},
    }
    if description:
        out["description"] = description
    params = [
        param(name, {"type": "integer", "minimum": 1}, where="path")
        | {"description": f"An id; one that names nothing here, or beyond {inputs.ID_MAX}, is 404"}
        if is_int
        else param(name, {k: v for k, v in OPAQUE_ID.items() if k != "description"}, where="path")
        | {"description": OPAQUE_ID["description"]}
        for name, is_int in path_args
    ]
    params += [param(p.name, p.schema(), p.required) for p in op.query]
    if params:
        out["parameters"] = params
    if op.body:
        out["requestBody"] = {
            "required": op.body.required,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.name}"}}},
        }
    if op.multipart:
        out["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    if op.public:
        out["security"] = []
    return out


def _response_schemas() -> dict:
    consultation = SCHEMAS["Consultation"]
    return {
        **SCHEMAS,
        **openapi_urgent.SCHEMAS,
        **openapi_admin_doctors.SCHEMAS,
        **openapi_admin_contracts.SCHEMAS,
        **openapi_after_visit.SCHEMAS,
        "Consultation": {
            **consultation,
            "properties": {**consultation["properties"], **openapi_urgent.CONSULTATION_FIELDS},
        },
    }


def document(app: Flask | None = None) -> dict:
    """The document for ``app`` (default: the current one)."""
    app = app or current_app
    paths: dict[str, dict] = {}
    bodies: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith(f"{api.name}."):
            continue
        view = app.view_functions[rule.endpoint]
        op: Operation = getattr(view, "operation")  # noqa: B009  (tests/web/test_openapi.py: every route has one)
        path, path_args = _path(rule.rule)
        for method in _METHODS:
            if method.upper() in (rule.methods or ()):
                paths.setdefault(path, {})[method] = _operation(rule.endpoint, view, op, path_args)
        if op.body:
            bodies[op.body.name] = op.body.schema()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "telemed API",
            "version": "1.0.0",
            "description": _DESCRIPTION % {"depth": inputs.JSON_MAX_DEPTH, "id_max": inputs.ID_MAX},
        },
        "servers": [{"url": api.url_prefix}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": {**_response_schemas(), **bodies},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": json_response({"$ref": "#/components/schemas/Error"}, "Error")},
        },
    }


@api.get("/openapi.json")
@documented(json_response({"type": "object"}, "The OpenAPI document"), public=True)
def openapi_json():
    """This API's OpenAPI 3.1 document. Anyone may read it."""
    return jsonify(document())
