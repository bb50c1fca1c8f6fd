"""The OpenAPI document covers every /api/v1 route, as its handler declares it."""

import re

import pytest

from telemed.api.contract import Body, Operation
from telemed.api.openapi import document
from telemed.config import ICE_TRANSPORT_POLICIES


def test_every_api_route_is_documented(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", "{id}", rule.rule.removeprefix("/api/v1"), count=1)
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # a second parameter keeps its name
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_every_operation_is_named_after_its_handler(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    handlers = {e.removeprefix("api.") for e in app.view_functions if e.startswith("api.")}
    assert set(ids) == handlers


def _operations(app):
    return {
        endpoint: view.operation
        for endpoint, view in app.view_functions.items()
        if endpoint.startswith("api.")
    }


def test_every_handler_declares_its_operation(app):
    ops = _operations(app)
    assert ops and all(isinstance(op, Operation) for op in ops.values())


def test_the_document_states_each_declared_input(app):
    """Each handler's declared query parameters and body fields are in the document as declared."""
    with app.app_context():
        doc = document()
    by_id = {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}
    for endpoint, op in _operations(app).items():
        published = by_id[endpoint.removeprefix("api.")]
        params = {p["name"]: p for p in published.get("parameters", []) if p["in"] == "query"}
        assert {p.name: p.schema() for p in op.query} == {n: p["schema"] for n, p in params.items()}
        if isinstance(op.body, Body):
            schema = doc["components"]["schemas"][op.body.name]
            assert schema == op.body.schema()
            assert published["requestBody"]["required"] is op.body.required


@pytest.mark.parametrize(
    ("declared", "code"),
    [("body", 400), ("body", 413), ("body", 422), ("query", 422), ("secured", 401), ("path id", 404)],
)
def test_the_codes_every_operation_of_a_kind_can_get_are_documented(app, declared, code):
    with app.app_context():
        doc = document()
    for path, ops in doc["paths"].items():
        for op in ops.values():
            applies = {
                "body": "requestBody" in op,
                "query": any(p["in"] == "query" for p in op.get("parameters", [])),
                "secured": op.get("security") != [],
                "path id": "{id}" in path,
            }[declared]
            if applies:
                assert str(code) in op["responses"], (path, op["operationId"])


def test_every_reference_resolves(app):
    with app.app_context():
        doc = document()
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', str(doc).replace("'", '"')))
    assert refs
    for kind, name in refs:
        assert name in doc["components"][kind], (kind, name)


def test_ice_servers_response_documents_the_transport_policy(app):
    with app.app_context():
        doc = document()
    ok = doc["paths"]["/consultations/{id}/ice-servers"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IceConfig"}
    schema = doc["components"]["schemas"]["IceConfig"]
    assert set(schema["required"]) == {"iceServers", "ttl", "iceTransportPolicy"}
    assert schema["properties"]["iceTransportPolicy"]["enum"] == list(ICE_TRANSPORT_POLICIES)
