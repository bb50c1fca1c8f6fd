"""The README is the newcomer's map: it names every API path, every CLI command and option, and
links nothing outside the repository."""

import re
from pathlib import Path

import click

from telemed.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_api_path_is_in_the_readme(app):
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    missing = [p for p in paths if f"`{p}`" not in README and f" {p}`" not in README]
    assert missing == []


def test_every_cli_command_and_option_is_in_the_readme():
    missing = []
    for name, command in main.commands.items():
        if f"telemed {name}" not in README:
            missing.append(name)
        for param in command.params:
            if isinstance(param, click.Option):
                missing += [
                    f"{name} {opt}"
                    for opt in param.opts
                    if f"`{opt}" not in README and f" {opt}" not in README
                ]
    assert missing == []


def test_the_demo_port_is_documented():
    assert "PORT=" in README and "./scripts/demo.sh" in README


def test_no_link_leaves_the_repository():
    for url in re.findall(r"https?://[^\s)`'\"]+", README):
        assert re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", url), url
    assert "../" not in README


def test_every_setting_is_in_the_configuration_table():
    from telemed.config import DEFAULTS

    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert [key for key in DEFAULTS if f"`TELEMED_{key}`" not in table] == []
