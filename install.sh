#!/usr/bin/env bash
# Installs tells into ./.venv with everything its tests need: the Python packages, the models
# and sample media (taken out of registry wheels, checksummed), and Debian's Chromium for the
# browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "tells needs Python 3.11"' \
  || { echo "install.sh: tells needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,research,devdata]"
# Browser for the report and trainer tests: Debian's chromium (never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && APT_UPDATED=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "install.sh: note: install Debian's 'chromium' package to run the browser tests" >&2
  fi
fi
# PostgreSQL for the workspace tests (they start a throwaway cluster with initdb/pg_ctl; as
# root it runs as the package's 'postgres' user). The package's own cluster is not needed.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "install.sh: note: install Debian's 'postgresql' package to run the workspace tests on PostgreSQL" >&2
  fi
fi
# npm fetches the @vladmandic/face-api package tarball that the face descriptor and the expression
# net are taken out of ('npm pack': nothing is installed from it and no JavaScript runs).
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq && APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "install.sh: note: install Debian's 'npm' package ('tells models fetch' needs it)" >&2
  fi
fi
# Screen capture for the tells live tests: Debian's Xvfb and xwininfo (x11-utils).
if ! command -v Xvfb >/dev/null 2>&1 || ! command -v xwininfo >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq && APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-utils >/dev/null
  else
    echo "install.sh: note: install Debian's 'xvfb' and 'x11-utils' to run the screen capture tests" >&2
  fi
fi
.venv/bin/tells models fetch --quiet
.venv/bin/tells samples fetch --quiet
echo "tells installed: .venv/bin/tells --help"
