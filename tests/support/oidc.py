"""A real OpenID Connect provider for the test run (``oidc-provider-mock``, a werkzeug server in a
thread) and a helper that walks a whole login through it with a Flask test client."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from oidc_provider_mock import run_server_in_thread


@contextmanager
def provider() -> Iterator[str]:
    """Run the provider (it requires a ``nonce``); yields its issuer URL, ``http://localhost:<port>``.
    The root ``conftest.py`` runs one for the session (fixture ``oidc_issuer``)."""
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def oidc_config(issuer: str) -> dict[str, object]:
    return {"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "telemed-test", "OIDC_CLIENT_SECRET": "s3cret"}


def provider_user(issuer: str, claims: dict[str, object], sub: str | None = None) -> str:
    """Register a person at the provider with these claims; returns their ``sub`` (a fresh one)."""
    sub = sub or f"person-{secrets.token_hex(6)}"
    r = requests.put(f"{issuer}/users/{sub}", json=claims, timeout=10)
    assert r.status_code == 204, r.text
    return sub


def authorize_at_provider(authorize_url: str, sub: str) -> str:
    """The person ``sub`` approves the login on the provider's form; returns where the provider
    sends the browser back (the callback URL with ``code`` and ``state``)."""
    r = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def start(client, next_url: str | None = None) -> str:
    """``GET /auth/oidc/login``; returns the provider's authorization URL it redirects to."""
    r = client.get("/auth/oidc/login" + (f"?next={next_url}" if next_url else ""))
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def callback(client, location: str):
    """Follow the provider's redirect back to the app (path and query of ``location``)."""
    parts = urlsplit(location)
    assert parts.path == "/auth/oidc/callback", location
    return client.get(f"{parts.path}?{parts.query}")


def login(client, sub: str):
    """The whole login of ``sub`` in ``client``; returns the callback's response."""
    return callback(client, authorize_at_provider(start(client), sub))
