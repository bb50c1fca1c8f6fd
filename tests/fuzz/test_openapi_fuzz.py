"""Schemathesis against a live server on SQLite and on PostgreSQL, anonymously and as each role.

The fuzzer reads ``/api/v1/openapi.json`` and sends what it generates from it: valid requests,
requests that break each constraint, boundary values, requests without credentials, methods a
path does not have, and chains that reuse what earlier responses returned. With all its checks a
run fails on any 500, a status code or content type the document does not list, a response body
that breaks its schema, a request the document calls invalid that is accepted, one it calls valid
that is refused by the input layer (``hooks.py``), an operation that ignores authentication, and a
405 without a correct ``Allow`` header.

CI runs a few examples per operation with a fixed seed. For a long run (figures in the output):

    TELEMED_FUZZ_EXAMPLES=100 TELEMED_FUZZ_SEED=random .venv/bin/pytest tests/fuzz -s -q
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from telemed.seed import seed_demo
from tests.conftest import BACKENDS, empty_tables, make_app
from tests.support import otp
from tests.support.clients import token_login
from tests.support.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: ``None``: no credentials. Each role once, with its demo account.
IDENTITIES = [None, "member", "doctor", "records", "admin"]
EXAMPLES = int(os.environ.get("TELEMED_FUZZ_EXAMPLES", "3"))
_seed = os.environ.get("TELEMED_FUZZ_SEED", "20261130")
SEED = random.randrange(2**32) if _seed == "random" else int(_seed)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory):
    """The demo's data served on a free port; yields the server and a count of requests served."""
    url = request.getfixturevalue(f"{request.param}_url")
    app = make_app(url, tmp_path_factory.mktemp("fuzz"))
    empty_tables(app)
    seed_demo(app)
    served = itertools.count()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request

    @app.after_request
    def _count(response):
        next(served)
        return response

    with LiveServer(app) as server:
        yield server, served
    app.extensions["telemed.db"].dispose()


def _token(url: str, username: str) -> str:
    r = token_login(
        lambda path, body: requests.post(f"{url}{path}", json=body, timeout=30),
        username,
        "demo",
        otp.DEMO_SECRET,
    )
    r.raise_for_status()
    return r.json()["token"]


def _fuzz(url: str, identity: str | None, report: Path) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(ROOT / "tests/fuzz/schemathesis.toml"),
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks=all",
        f"--seed={SEED}",
        f"--max-examples={EXAMPLES}",
        "--workers=1",
        "--generation-database=none",
        "--request-timeout=60",
        "--no-color",
        "--report=json",
        f"--report-json-path={report}",
    ]
    if identity:
        # revoking or ending the run's own token would leave the rest of the run anonymous, and an
        # admin deactivating demo accounts would do so for the other identities' runs
        command += ["-H", f"Authorization: Bearer {_token(url, identity)}"]
        command += [
            f"--exclude-operation-id={op}"
            for op in ("revoke_token", "end_my_session", "deactivate_user", "admin_reset_second_factor")
        ]
    return subprocess.run(
        command,
        cwd=report.parent,  # its crash cache (.schemathesis/) stays out of the repository
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_the_fuzzer_finds_nothing(live, tmp_path):
    """Every identity's run passes all checks; two runs at a time, against one server."""
    server, served = live
    before = next(served)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {
            identity: pool.submit(_fuzz, server.url, identity, tmp_path / f"{identity}.json")
            for identity in IDENTITIES
        }
        results = {identity: future.result() for identity, future in runs.items()}
    requests_served = next(served) - before - 1
    failed = []
    for identity, run in results.items():
        summary = json.loads((tmp_path / f"{identity}.json").read_text())
        print(
            f"\nfuzz {identity or 'anonymous'}: {summary['test_cases']['generated']} test cases over "
            f"{summary['operations']['tested']} operations, exit {run.returncode}"
        )
        assert summary["operations"]["tested"] == summary["operations"]["selected"] > 25
        if run.returncode != 0:
            failed.append(f"--- {identity or 'anonymous'} ---\n{run.stdout[-6000:]}{run.stderr[-2000:]}")
    print(f"fuzz: seed {SEED}, {EXAMPLES} examples per operation, {requests_served} requests served")
    assert not failed, "\n".join(failed)
    assert requests_served > 2000 * len(IDENTITIES) // 2
