#!/usr/bin/env bash
# Set up and run every check and the whole test suite: static checks (ruff, mypy), the front-end unit
# tests (npm test), then pytest on SQLite and a throwaway PostgreSQL server, real sockets, real S3
# protocol. Extra arguments go to pytest. set -e stops at the first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check telemed tests bench
.venv/bin/ruff format --check telemed tests bench
.venv/bin/mypy
npm test
export TELEMED_REQUIRE_PG=1
export TELEMED_REQUIRE_BROWSER=1
export TELEMED_REQUIRE_TURN=1
export TELEMED_REQUIRE_REDIS=1
export TELEMED_REQUIRE_NGINX=1
exec .venv/bin/python -m pytest "$@"
