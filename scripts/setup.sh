#!/usr/bin/env bash
# Prepare this checkout on a fresh machine: system packages (when missing), a virtualenv in .venv,
# and the pinned Python dependencies.  Usage: scripts/setup.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

missing=()
if [ "$mode" = test ]; then
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v turnserver >/dev/null || missing+=(coturn)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v wrk >/dev/null || missing+=(wrk)  # the HTTP load of bench/bench_scale.py
fi
command -v python3 >/dev/null || missing+=(python3 python3-venv)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    # the tests start their own coturn on a free loopback port; no system-wide TURN service
    if command -v systemctl >/dev/null && systemctl is-enabled coturn >/dev/null 2>&1; then
      systemctl disable --now coturn || true
    fi
    # likewise the tests start their own redis-server; a system-wide Redis is not needed
    if command -v systemctl >/dev/null && systemctl is-enabled redis-server >/dev/null 2>&1; then
      systemctl disable --now redis-server || true
    fi
    # and their own nginx with the shipped site (deploy/nginx) on free loopback ports
    if command -v systemctl >/dev/null && systemctl is-enabled nginx >/dev/null 2>&1; then
      systemctl disable --now nginx || true
    fi
  else
    echo "Missing system packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# Front-end libraries come from npm (package-lock.json) and are served from static/vendor.
npm ci --no-audit --no-fund --loglevel=error
mkdir -p static/vendor
cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/

# Every download is checked against the hashes in requirements/*.lock (refresh them with scripts/lock.sh).
# pip and the build tools come first, from their own lock; telemed itself is then built with those tools
# (no build isolation, which would fetch unpinned ones).
[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes -r requirements/build.lock
"${pip[@]}" --require-hashes -r "requirements/$mode.lock"
"${pip[@]}" --no-deps --no-build-isolation -e .
