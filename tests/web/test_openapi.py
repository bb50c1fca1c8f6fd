"""The OpenAPI document covers every /api/v1 route."""

import re

from telemed.api.openapi import document
from telemed.config import ICE_TRANSPORT_POLICIES


def test_every_api_route_is_documented(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", "{id}", rule.rule.removeprefix("/api/v1"), count=1)
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # a second parameter keeps its name
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_every_reference_resolves():
    doc = document()
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', str(doc).replace("'", '"')))
    assert refs
    for kind, name in refs:
        assert name in doc["components"][kind], (kind, name)


def test_ice_servers_response_documents_the_transport_policy():
    doc = document()
    ok = doc["paths"]["/consultations/{id}/ice-servers"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IceConfig"}
    schema = doc["components"]["schemas"]["IceConfig"]
    assert set(schema["required"]) == {"iceServers", "ttl", "iceTransportPolicy"}
    assert schema["properties"]["iceTransportPolicy"]["enum"] == list(ICE_TRANSPORT_POLICIES)
