"""ICE server configuration and coturn TURN REST credentials (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from telemed.video.ice import ice_servers, parse_url_list, turn_credentials, verify_turn_credentials

SECRET = "north-wind"
NOW = 1_700_000_000


def test_credentials_match_an_independent_hmac_sha1() -> None:
    username, password = turn_credentials(SECRET, 42, ttl=3600, now=NOW)
    assert username == "1700003600:42"
    # Computed the way coturn does it (RFC draft-uberti-behave-turn-rest-00, section 2.2).
    expected = base64.b64encode(hmac.new(b"north-wind", b"1700003600:42", hashlib.sha1).digest()).decode()
    assert password == expected
    assert len(base64.b64decode(password)) == 20


def test_known_answer_vector() -> None:
    # Computed with: printf %s 1060:alice | openssl dgst -sha1 -hmac secret -binary | base64
    assert turn_credentials("secret", "alice", ttl=60, now=1000) == (
        "1060:alice",
        "hjRtn0ot3SN3N/ZTliyVxIvRyZs=",
    )


def test_credentials_verify_until_expiry() -> None:
    username, password = turn_credentials(SECRET, "u-7", ttl=600, now=NOW)
    assert verify_turn_credentials(SECRET, username, password, now=NOW)
    assert verify_turn_credentials(SECRET, username, password, now=NOW + 600)
    assert not verify_turn_credentials(SECRET, username, password, now=NOW + 601)


@pytest.mark.parametrize(
    ("secret", "username", "password"),
    [
        ("other-secret", None, None),
        (SECRET, "1700000600:u-8", None),  # someone else's id
        (SECRET, "1800000000:u-7", None),  # extended expiry
        (SECRET, None, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        (SECRET, None, ""),
        (SECRET, "u-7", None),  # no expiry part
        (SECRET, "²:u-7", None),  # not an ASCII number
        ("", None, None),
    ],
)
def test_tampered_credentials_fail(secret: str, username: str | None, password: str | None) -> None:
    good_user, good_password = turn_credentials(SECRET, "u-7", ttl=600, now=NOW)
    assert not verify_turn_credentials(
        secret, username or good_user, good_password if password is None else password, now=NOW
    )


def test_credentials_reject_bad_arguments() -> None:
    for kwargs in ({"secret": "", "user_id": 1}, {"secret": SECRET, "user_id": ""}):
        with pytest.raises(ValueError):
            turn_credentials(kwargs["secret"], kwargs["user_id"], ttl=60, now=NOW)
    with pytest.raises(ValueError):
        turn_credentials(SECRET, 1, ttl=0, now=NOW)


def test_ice_servers_shape() -> None:
    config = ice_servers(
        stun_urls=["stun:stun.example.org:3478"],
        turn_urls=["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        turn_secret=SECRET,
        user_id=9,
        ttl=3600,
        now=NOW,
    )
    username, credential = turn_credentials(SECRET, 9, ttl=3600, now=NOW)
    assert config == {
        "iceServers": [
            {"urls": ["stun:stun.example.org:3478"]},
            {
                "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
                "username": username,
                "credential": credential,
            },
        ],
        "ttl": 3600,
    }


@pytest.mark.parametrize(
    ("turn_urls", "secret"), [(["turn:t.example.org"], None), (["turn:t.example.org"], ""), ([], SECRET)]
)
def test_turn_omitted_without_secret_or_urls(turn_urls: list[str], secret: str | None) -> None:
    config = ice_servers(
        stun_urls=["stun:s.example.org"], turn_urls=turn_urls, turn_secret=secret, user_id=1, ttl=60, now=NOW
    )
    assert config == {"iceServers": [{"urls": ["stun:s.example.org"]}], "ttl": 60}


def test_no_servers_at_all() -> None:
    assert ice_servers(stun_urls=[], turn_urls=[], turn_secret=None, user_id=1, ttl=60, now=NOW) == {
        "iceServers": [],
        "ttl": 60,
    }


@pytest.mark.parametrize(
    ("stun", "turn"), [(["turn:t.example.org"], []), ([], ["stun:s.example.org"]), (["http://x"], [])]
)
def test_ice_servers_checks_schemes(stun: list[str], turn: list[str]) -> None:
    with pytest.raises(ValueError):
        ice_servers(stun_urls=stun, turn_urls=turn, turn_secret=SECRET, user_id=1, ttl=60, now=NOW)


def test_parse_url_list() -> None:
    assert parse_url_list(None) == []
    assert parse_url_list("  ") == []
    value = " stun:a.example.org:3478, turn:b.example.org?transport=tcp turns:c.example.org:5349,,stun:a.example.org:3478\n"
    assert parse_url_list(value) == [
        "stun:a.example.org:3478",
        "turn:b.example.org?transport=tcp",
        "turns:c.example.org:5349",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "http://a.example.org",
        "stun:",
        "a.example.org:3478",
        "stun:a.example.org, turn:",
        "turn:b?transport=sctp",
        "stuns:a.example.org",
    ],
)
def test_parse_url_list_rejects_other_schemes(value: str) -> None:
    with pytest.raises(ValueError):
        parse_url_list(value)
