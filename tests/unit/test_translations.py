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


def _extract(tmp_path):
    """Run the README's extraction step; the template of every message the code and pages use."""
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
    return read_po(io.BytesIO(pot.read_bytes()))


def test_every_extracted_message_is_translated(tmp_path):
    template = _extract(tmp_path)
    catalog = read_po(io.BytesIO(PO.read_bytes()))
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    assert missing == []


def test_the_update_step_keeps_every_translation(tmp_path):
    """``pybabel update`` would mark obsolete any translation whose message the extraction no
    longer finds: a message built from variables (an f-string) instead of ``_l("...", name=...)``."""
    extracted = {m.id for m in _extract(tmp_path) if m.id}
    catalog = read_po(io.BytesIO(PO.read_bytes()))
    assert [m.id for m in catalog if m.id and m.id not in extracted] == []
    assert not catalog.obsolete


def test_translations_keep_the_named_placeholders():
    import re

    for m in read_po(io.BytesIO(PO.read_bytes())):
        if m.id and isinstance(m.id, str) and m.string:
            names = set(re.findall(r"%\((\w+)\)s", m.id))
            assert set(re.findall(r"%\((\w+)\)s", m.string)) == names, m.id


def test_compiled_catalog_matches_the_source():
    def as_dict(catalog):
        return {_key(m.id): _key(m.string) for m in catalog if m.id}

    source = as_dict(read_po(io.BytesIO(PO.read_bytes())))
    compiled = as_dict(read_mo(io.BytesIO(MO.read_bytes())))
    assert compiled == source, "run: pybabel compile -d telemed/translations"


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value
