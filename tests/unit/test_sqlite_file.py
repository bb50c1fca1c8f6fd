"""The SQLite database file (and its WAL and shared-memory files) is readable by its owner only."""

from __future__ import annotations

import os
import stat

import pytest

from telemed import create_app
from telemed.db import Database


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # what a service would otherwise create files with: world-readable
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_default_database_file_is_created_0600(tmp_path, loose_umask):
    app = create_app({"INSTANCE_DIR": str(tmp_path / "instance"), "PASSWORD_HASH": "argon2-fast"})
    db = app.extensions["telemed.db"]
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        path = tmp_path / "instance" / "telemed.sqlite3"
        assert mode(path) == 0o600
        for extra in ("telemed.sqlite3-wal", "telemed.sqlite3-shm"):
            if (tmp_path / "instance" / extra).exists():
                assert mode(tmp_path / "instance" / extra) == 0o600, extra
        (tmp_path / "plain").touch()
        assert mode(tmp_path / "plain") == 0o644  # the umask alone would not have done it
    finally:
        db.dispose()


def test_an_existing_file_keeps_its_mode(tmp_path, loose_umask):
    path = tmp_path / "kept.sqlite3"
    path.touch(mode=0o640)
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert mode(path) == 0o640
    finally:
        db.dispose()
