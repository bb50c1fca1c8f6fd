"""ICE server configuration handed to browsers: STUN URLs and TURN credentials.

TURN credentials follow coturn's "TURN REST API" scheme (``use-auth-secret`` /
``static-auth-secret``): the username is ``"<expiry unix time>:<user id>"`` and
the password is ``base64(HMAC-SHA1(secret, username))``. coturn checks them
with the same shared secret, so the app never stores per-user TURN passwords.

Everything here is pure: the caller passes the clock (``now``, unix seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

_URL_RE = re.compile(r"^(stun|turns?):[^\s,?]+(\?transport=(udp|tcp))?$", re.IGNORECASE)
_SPLIT_RE = re.compile(r"[\s,]+")
_DIGITS_RE = re.compile(r"[0-9]+")


def _password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_credentials(secret: str, user_id: str | int, *, ttl: int, now: int) -> tuple[str, str]:
    """Return ``(username, password)`` valid until ``now + ttl``.

    Raises ``ValueError`` for an empty secret or user id, or a ``ttl`` that is not positive.
    """
    if not secret:
        raise ValueError("TURN secret must not be empty")
    if str(user_id) == "":
        raise ValueError("user_id must not be empty")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    username = f"{int(now) + int(ttl)}:{user_id}"
    return username, _password(secret, username)


def verify_turn_credentials(secret: str, username: str, password: str, *, now: int) -> bool:
    """True when ``password`` matches ``username`` under ``secret`` and has not expired.

    The comparison is constant-time; a malformed username is simply invalid.
    """
    expiry_text, sep, _user = username.partition(":")
    if not secret or not sep or not _DIGITS_RE.fullmatch(expiry_text):
        return False
    expected = _password(secret, username).encode()
    matches = hmac.compare_digest(expected, password.encode("utf-8", "replace"))
    return matches and int(expiry_text) >= int(now)


def parse_url_list(value: str | None) -> list[str]:
    """Split a comma/space-separated env value into ICE URLs (order kept, duplicates dropped).

    Each URL must look like ``stun:host[:port]``, ``turn:host[:port][?transport=udp|tcp]``
    or ``turns:...``; anything else raises ``ValueError``. ``None`` or blank gives ``[]``.
    """
    urls: list[str] = []
    for item in _SPLIT_RE.split(value or ""):
        if not item:
            continue
        if not _URL_RE.match(item):
            raise ValueError(f"not a stun:/turn:/turns: URL: {item!r}")
        if item not in urls:
            urls.append(item)
    return urls


def _check_scheme(urls: list[str], schemes: tuple[str, ...], what: str) -> None:
    for url in urls:
        if not _URL_RE.match(url) or not url.lower().startswith(schemes):
            raise ValueError(f"not a {what} URL: {url!r}")


def ice_servers(
    *,
    stun_urls: list[str],
    turn_urls: list[str],
    turn_secret: str | None,
    user_id: str | int,
    ttl: int,
    now: int,
) -> dict:
    """Browser ``RTCConfiguration`` fragment: ``{"iceServers": [...], "ttl": ttl}``.

    STUN URLs become one ``{"urls": [...]}`` entry; TURN URLs one entry with a
    ``username``/``credential`` pair from :func:`turn_credentials`. An empty list
    is omitted, and TURN is omitted when there is no secret.
    """
    _check_scheme(stun_urls, ("stun:",), "STUN")
    _check_scheme(turn_urls, ("turn:", "turns:"), "TURN")
    servers: list[dict] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls and turn_secret:
        username, credential = turn_credentials(turn_secret, user_id, ttl=ttl, now=now)
        servers.append({"urls": list(turn_urls), "username": username, "credential": credential})
    return {"iceServers": servers, "ttl": ttl}


def ice_config(config: Mapping[str, Any], user_id: int, *, now: int) -> dict:
    """``{iceServers, ttl, iceTransportPolicy}`` from the app's settings (``STUN_URLS``, ``TURN_URLS``,
    ``TURN_SECRET``, ``TURN_TTL_SECONDS``, ``ICE_TRANSPORT_POLICY``): what a browser builds its
    ``RTCPeerConnection`` from, with TURN credentials for ``user_id`` valid from ``now`` (Unix time)."""
    result = ice_servers(
        stun_urls=parse_url_list(config["STUN_URLS"]),
        turn_urls=parse_url_list(config["TURN_URLS"]),
        turn_secret=config["TURN_SECRET"],
        user_id=user_id,
        ttl=int(config["TURN_TTL_SECONDS"]),
        now=now,
    )
    result["iceTransportPolicy"] = config["ICE_TRANSPORT_POLICY"]
    return result
