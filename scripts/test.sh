#!/usr/bin/env bash
# Set up and run the whole test suite: static checks (ruff, mypy), then pytest on SQLite and a
# throwaway PostgreSQL server, real sockets, real S3 protocol. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check telemed tests bench
.venv/bin/ruff format --check telemed tests bench
.venv/bin/mypy
export TELEMED_REQUIRE_PG=1
export TELEMED_REQUIRE_BROWSER=1
export TELEMED_REQUIRE_TURN=1
exec .venv/bin/python -m pytest "$@"
