"""OpenID Connect login: the one adapter between telemed and an identity provider.

Contract of a :class:`Provider` (all three run inside a request; state lives in the Flask session):

- ``authorize_url(redirect_uri)``: a fresh ``state``, ``nonce`` and PKCE verifier (S256) are kept in
  the session; returns the provider's authorization URL to redirect the browser to.
- ``exchange_code()``: reads the callback's query; checks ``state`` (once: it is dropped), swaps the
  code (with the PKCE verifier) for tokens and checks the ID token: signature by the provider's JWKS,
  ``iss``, ``aud``, ``exp`` and ``nonce``. Raises :class:`ProviderError` for anything wrong,
  including an ``error`` the provider sent back.
- ``claims(token)``: the ID token's claims, completed by the userinfo endpoint when the ID token
  lacks some (its ``sub`` must be the ID token's); ``iss`` and ``sub`` always present.

:class:`StandardOidc` is plain OpenID Connect through Authlib's Flask client (discovery at
``<issuer>/.well-known/openid-configuration``). Gosuslugi (ЕСИА) is not built: :class:`EsiaNotReady`
stops startup and lists what its provider would need on top.
"""

from __future__ import annotations

from typing import Any, Protocol

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, session
from joserfc.errors import JoseError

from telemed.config import ConfigError

CLIENT_NAME = "telemed_oidc"
HTTP_TIMEOUT = 10  # seconds for each request to the provider (discovery, token, JWKS, userinfo)


class ProviderError(Exception):
    """The login cannot go on: bad or replayed ``state``, an ``error`` from the provider, an ID
    token that fails its checks, or the provider unreachable. ``str()`` is for logs, not users."""


class Provider(Protocol):
    issuer: str

    def authorize_url(self, redirect_uri: str) -> str: ...

    def exchange_code(self) -> dict[str, Any]: ...

    def claims(self, token: dict[str, Any]) -> dict[str, Any]: ...


class StandardOidc:
    """Plain OpenID Connect (authorization code + PKCE, ``state``, ``nonce``) with Authlib."""

    def __init__(self, app: Flask, *, issuer: str, client_id: str, client_secret: str | None, scopes: str):
        self.issuer = issuer
        self._oauth = OAuth(app)
        self._client = self._oauth.register(
            CLIENT_NAME,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": scopes, "code_challenge_method": "S256", "timeout": HTTP_TIMEOUT},
        )

    def authorize_url(self, redirect_uri: str) -> str:
        try:
            data = self._client.create_authorization_url(redirect_uri)
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise ProviderError(f"discovery failed: {exc.__class__.__name__}") from exc
        self._client.save_authorize_data(redirect_uri=redirect_uri, **data)
        return data["url"]

    def exchange_code(self) -> dict[str, Any]:
        try:
            token = self._client.authorize_access_token()
        except OAuthError as exc:
            _forget_pending()
            raise ProviderError(f"provider or state: {exc.error}") from exc
        except (JoseError, requests.RequestException, ValueError, KeyError) as exc:
            _forget_pending()
            raise ProviderError(f"token or ID token: {exc.__class__.__name__}") from exc
        if not token.get("userinfo"):  # Authlib checks an ID token only when one came: require it
            raise ProviderError("no ID token")
        return dict(token)

    def claims(self, token: dict[str, Any]) -> dict[str, Any]:
        found = dict(token["userinfo"])
        if not found.get("iss") or not found.get("sub"):
            raise ProviderError("ID token without iss or sub")
        try:
            extra = dict(self._client.userinfo(token=token))
        except (OAuthError, requests.RequestException, ValueError, RuntimeError, KeyError):
            extra = {}  # userinfo only completes the ID token; its absence is not an error
        if extra.get("sub") == found["sub"]:
            found = {**extra, **found}  # the signed ID token wins where both say something
        return found


def _forget_pending() -> None:
    """After a failed callback no login started in this browser may finish: drop every pending
    ``state`` (with its nonce and PKCE verifier), so a replay of the genuine callback fails too."""
    for key in [k for k in session if k.startswith(f"_state_{CLIENT_NAME}_")]:
        session.pop(key, None)


class EsiaNotReady(ConfigError):
    """``TELEMED_OIDC_PROVIDER=esia``: Gosuslugi (ЕСИА) is not connected here; startup stops.

    ЕСИА is OpenID Connect with differences that a provider of its own (same three methods as
    :class:`StandardOidc`, same claims shape: ``birthdate`` as ``YYYY-MM-DD`` and the policy claim,
    so linking stays unchanged) must handle:

    - ``client_secret`` is not a shared secret but a detached signature (PKCS#7, ГОСТ Р 34.10-2012)
      of ``scope + timestamp + client_id + state``, made with the organisation's certificate
      registered on the ESIA technology portal (CryptoPro CSP or another certified tool), sent with
      ``timestamp`` (``yyyy.MM.dd HH:mm:ss Z``) on both the authorization and the token request;
    - the token endpoint is ``/aas/oauth2/te`` (authorization ``/aas/oauth2/ac``), the ID token is
      signed with ESIA's ГОСТ key (its certificate is distributed, not a JWKS);
    - scopes are ESIA's (``openid fullname birthdate snils ...``) and the person's data come from the
      REST person API (``/rs/prns/<oid>``, ``/docs``) with the access token, not from userinfo:
      ``birthDate`` as ``DD.MM.YYYY``, the ОМС/ДМС policy or СНИЛС from the documents;
    - ``sub`` is ESIA's ``oid`` (``urn:esia:sbj_id``).
    """

    def __init__(self) -> None:
        super().__init__(
            "TELEMED_OIDC_PROVIDER=esia is not built: it needs a ГОСТ certificate and CryptoPro signing "
            "of client_secret, the /aas/oauth2/te token endpoint and the ESIA person API (see README, "
            "«Login through Gosuslugi»); use TELEMED_OIDC_PROVIDER=oidc with an OpenID Connect provider"
        )


def init_app(app: Flask) -> None:
    """Configure the provider in ``app.extensions["telemed.oidc"]`` when ``OIDC_ISSUER`` is set
    (None otherwise: the login page shows no button and ``/auth/oidc/*`` answer 404)."""
    cfg = app.config
    provider: Provider | None = None
    if cfg.get("OIDC_ISSUER"):
        if cfg.get("OIDC_PROVIDER") == "esia":
            raise EsiaNotReady()
        provider = StandardOidc(
            app,
            issuer=cfg["OIDC_ISSUER"],
            client_id=cfg["OIDC_CLIENT_ID"],
            client_secret=cfg.get("OIDC_CLIENT_SECRET"),
            scopes=cfg["OIDC_SCOPES"],
        )
    app.extensions["telemed.oidc"] = provider
