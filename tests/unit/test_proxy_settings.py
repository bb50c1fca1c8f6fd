"""Behind nginx the app trusts exactly the proxy hops it is told, and cookies can be HTTPS-only."""

from __future__ import annotations

import pytest
from flask import request

from telemed import create_app
from telemed.config import ConfigError, load_config


def _app(tmp_path, **overrides):
    app = create_app({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "test", **overrides})

    @app.get("/_seen")
    def _seen():
        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


FORWARDED = {
    "X-Forwarded-For": "6.6.6.6, 203.0.113.7",  # a spoofed entry, then the one nginx appended
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "telemed.example.org",
}


def test_without_proxy_hops_forwarded_headers_are_ignored(tmp_path):
    seen = _app(tmp_path).test_client().get("/_seen", headers=FORWARDED).json
    assert seen == {"addr": "127.0.0.1", "scheme": "http", "host": "localhost"}


def test_one_hop_trusts_only_the_entry_the_proxy_wrote(tmp_path):
    seen = _app(tmp_path, PROXY_HOPS=1).test_client().get("/_seen", headers=FORWARDED).json
    assert seen == {"addr": "203.0.113.7", "scheme": "https", "host": "telemed.example.org"}


@pytest.mark.parametrize("name", ["TELEMED_SECURE_COOKIES", "TELEMED_COOKIE_SECURE"])  # the name, its alias
def test_cookies_are_https_only_when_asked(tmp_path, monkeypatch, name):
    assert load_config({"INSTANCE_DIR": str(tmp_path)})["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv(name, "1")
    cfg = load_config({"INSTANCE_DIR": str(tmp_path)})
    assert cfg["SESSION_COOKIE_SECURE"] is cfg["REMEMBER_COOKIE_SECURE"] is cfg["SECURE_COOKIES"] is True


def test_the_documented_name_wins_over_its_alias(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEMED_COOKIE_SECURE", "on")
    monkeypatch.setenv("TELEMED_SECURE_COOKIES", "off")
    assert load_config({"INSTANCE_DIR": str(tmp_path)})["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TELEMED_COOKIE_SECURE", "maybe", "TELEMED_COOKIE_SECURE must be one of"),
        ("TELEMED_SECURE_COOKIES", "maybe", "TELEMED_SECURE_COOKIES must be one of"),
        ("TELEMED_PROXY_HOPS", "-1", "TELEMED_PROXY_HOPS must be a whole number from 0 to 5"),
        ("TELEMED_PROXY_HOPS", "x", "TELEMED_PROXY_HOPS must be a whole number"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_config({"INSTANCE_DIR": str(tmp_path)})
