#!/usr/bin/env bash
# Regenerate the hash-pinned locks in requirements/ from pyproject.toml with uv ('pip install uv'; a tool
# for this refresh only, not a dependency of telemed). Pins already in the locks are kept unless asked:
#   scripts/lock.sh                          # after editing dependencies in pyproject.toml
#   scripts/lock.sh --upgrade-package flask  # move one package (repeatable); --upgrade moves all
# test.lock and build.lock take app.lock as a constraint, so the tests run the versions that ship.
set -euo pipefail
cd "$(dirname "$0")/.."
uv="$(command -v uv || echo .venv/bin/uv)"
[ -x "$uv" ] || { echo "uv not found: pip install uv (into .venv or anywhere on PATH)" >&2; exit 1; }

compile() {
  "$uv" pip compile --quiet --generate-hashes --python-version 3.11 --custom-compile-command scripts/lock.sh "$@"
}
compile pyproject.toml -o requirements/app.lock "$@"
compile pyproject.toml --extra test -c requirements/app.lock -o requirements/test.lock "$@"
compile requirements/build.in -c requirements/app.lock -o requirements/build.lock "$@"
