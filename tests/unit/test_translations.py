"""Every user-facing string has a Russian translation, and the compiled catalog is current."""

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "telemed/translations/ru/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


def test_every_extracted_message_is_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "--quiet",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
    )
    template = read_po(io.BytesIO(pot.read_bytes()))
    catalog = read_po(io.BytesIO(PO.read_bytes()))
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    assert missing == []


def test_compiled_catalog_matches_the_source():
    def as_dict(catalog):
        return {_key(m.id): _key(m.string) for m in catalog if m.id}

    source = as_dict(read_po(io.BytesIO(PO.read_bytes())))
    compiled = as_dict(read_mo(io.BytesIO(MO.read_bytes())))
    assert compiled == source, "run: pybabel compile -d telemed/translations"


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value
