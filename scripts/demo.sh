#!/usr/bin/env bash
# Set up and start the demo at http://127.0.0.1:5000 (SQLite and local storage in ./instance).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh app
exec .venv/bin/telemed demo --host 127.0.0.1 --port "${PORT:-5000}"
