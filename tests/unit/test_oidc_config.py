"""OpenID Connect settings checked at startup, and the ESIA adapter that is not built."""

import pytest

from telemed.auth.oidc import EsiaNotReady
from telemed.config import ConfigError, load_config

ISSUER = "https://id.example.org/realm"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for key in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_SCOPES", "OIDC_POLICY_CLAIM"):
        monkeypatch.delenv(f"TELEMED_{key}", raising=False)
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("TELEMED_SECRET_KEY", "test-secret")
    return monkeypatch


def test_off_by_default(env):
    cfg = load_config()
    assert cfg["OIDC_ISSUER"] is None and cfg["OIDC_CLIENT_ID"] is None
    assert cfg["OIDC_SCOPES"] == "openid profile email" and cfg["OIDC_POLICY_CLAIM"] == "policy_number"


def test_from_the_environment(env):
    env.setenv("TELEMED_OIDC_ISSUER", ISSUER + "/")
    env.setenv("TELEMED_OIDC_CLIENT_ID", "telemed")
    env.setenv("TELEMED_OIDC_SCOPES", "profile policy")
    env.setenv("TELEMED_OIDC_POLICY_CLAIM", "dms_policy")
    cfg = load_config()
    assert (cfg["OIDC_ISSUER"], cfg["OIDC_CLIENT_ID"]) == (ISSUER, "telemed")
    assert cfg["OIDC_SCOPES"] == "openid profile policy" and cfg["OIDC_POLICY_CLAIM"] == "dms_policy"


@pytest.mark.parametrize("issuer", ["id.example.org", "ftp://id.example.org", "https://"])
def test_the_issuer_is_an_http_url(env, issuer):
    with pytest.raises(ConfigError, match="TELEMED_OIDC_ISSUER must be an http"):
        load_config({"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "telemed"})


@pytest.mark.parametrize(
    "given",
    [
        {"OIDC_ISSUER": ISSUER},
        {"OIDC_CLIENT_ID": "telemed"},
        {"OIDC_CLIENT_ID": "telemed", "OIDC_CLIENT_SECRET": "x"},
    ],
)
def test_all_or_nothing(env, given):
    with pytest.raises(ConfigError, match="TELEMED_OIDC_ISSUER and TELEMED_OIDC_CLIENT_ID go together"):
        load_config(given)


def test_a_secret_alone_is_refused(env):
    with pytest.raises(ConfigError, match="TELEMED_OIDC_CLIENT_SECRET is set without"):
        load_config({"OIDC_CLIENT_SECRET": "x"})


@pytest.mark.parametrize("claim", ["", "policy number", "a/b"])
def test_the_policy_claim_is_a_name(env, claim):
    with pytest.raises(ConfigError, match="TELEMED_OIDC_POLICY_CLAIM must be a claim name"):
        load_config({"OIDC_POLICY_CLAIM": claim})


def test_esia_is_refused_at_startup_with_what_it_needs(env, tmp_path):
    from telemed import create_app

    config = {"OIDC_ISSUER": "https://esia.gosuslugi.ru", "OIDC_CLIENT_ID": "MZ0001", "OIDC_PROVIDER": "esia"}
    with pytest.raises(EsiaNotReady, match="ГОСТ certificate and CryptoPro signing"):
        create_app({**config, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
