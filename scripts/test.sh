#!/usr/bin/env bash
# Set up and run the whole test suite: SQLite and a throwaway PostgreSQL server, real sockets, real S3 protocol.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export TELEMED_REQUIRE_PG=1
export TELEMED_REQUIRE_BROWSER=1
export TELEMED_REQUIRE_TURN=1
exec .venv/bin/python -m pytest "$@"
