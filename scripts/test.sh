#!/usr/bin/env bash
# Set up and run the whole test suite: the front-end unit tests (npm test), then pytest: SQLite and a
# throwaway PostgreSQL server, real sockets, real S3 protocol.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# unit tests of the front-end modules (Node's built-in test runner); set -e stops here if they fail
npm test
export TELEMED_REQUIRE_PG=1
export TELEMED_REQUIRE_BROWSER=1
export TELEMED_REQUIRE_TURN=1
exec .venv/bin/python -m pytest "$@"
