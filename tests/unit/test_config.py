"""Settings checked at startup: ``TELEMED_ICE_TRANSPORT_POLICY``."""

import pytest
from click.testing import CliRunner

from telemed import create_app
from telemed.cli import main
from telemed.config import ConfigError, load_config

TURN = {"TURN_URLS": "turn:turn.example.org:3478?transport=udp", "TURN_SECRET": "s3cret"}


@pytest.fixture
def env(tmp_path, monkeypatch):
    for key in ("ICE_TRANSPORT_POLICY", "TURN_URLS", "TURN_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(f"TELEMED_{key}", raising=False)
    monkeypatch.setenv("TELEMED_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("TELEMED_SECRET_KEY", "test-secret")
    return monkeypatch


def test_ice_transport_policy_defaults_to_all(env):
    assert load_config()["ICE_TRANSPORT_POLICY"] == "all"


def test_relay_policy_from_the_environment(env):
    env.setenv("TELEMED_ICE_TRANSPORT_POLICY", " Relay ")
    env.setenv("TELEMED_TURN_URLS", TURN["TURN_URLS"])
    env.setenv("TELEMED_TURN_SECRET", TURN["TURN_SECRET"])
    assert load_config()["ICE_TRANSPORT_POLICY"] == "relay"


@pytest.mark.parametrize("value", ["none", "relay-only", "public", "", None])
def test_unknown_policy_is_a_config_error(env, value):
    with pytest.raises(ConfigError, match="TELEMED_ICE_TRANSPORT_POLICY must be one of all, relay"):
        load_config({"ICE_TRANSPORT_POLICY": value, **TURN})


@pytest.mark.parametrize("turn", [{}, {"TURN_URLS": TURN["TURN_URLS"]}, {"TURN_SECRET": "s3cret"}])
def test_relay_without_a_turn_server_is_a_config_error(env, turn):
    with pytest.raises(ConfigError, match="relay needs TELEMED_TURN_URLS and TELEMED_TURN_SECRET"):
        create_app({"ICE_TRANSPORT_POLICY": "relay", **turn})


def test_the_command_reports_a_bad_policy_and_exits(env, tmp_path):
    env.setenv("TELEMED_ICE_TRANSPORT_POLICY", "private")
    result = CliRunner().invoke(main, ["init-db"])
    assert result.exit_code == 1
    assert (
        "configuration error: TELEMED_ICE_TRANSPORT_POLICY must be one of all, relay, not 'private'"
        in result.output
    )
    assert not (tmp_path / "inst").exists()  # refused before touching anything


def test_the_urgent_settings_default_and_come_from_the_environment(env):
    cfg = load_config()
    assert (cfg["URGENT_ESCALATE_SECONDS"], cfg["DUTY_GRACE_SECONDS"], cfg["URGENT_DURATION_MINUTES"]) == (
        600,
        120,
        30,
    )
    env.setenv("TELEMED_DUTY_GRACE_SECONDS", "30")
    assert load_config()["DUTY_GRACE_SECONDS"] == 30


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5"])
def test_an_unusable_urgent_setting_is_a_config_error(env, value):
    env.setenv("TELEMED_URGENT_ESCALATE_SECONDS", value)
    with pytest.raises(ConfigError, match="TELEMED_URGENT_ESCALATE_SECONDS must be a"):
        load_config()
