#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine with Python 3.12 and pip:
# uv (from PyPI), then the locked environment in .venv. Safe to run again: it only syncs.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in python3.12 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; raise SystemExit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "setup: Python 3.12 is required (found none on PATH)" >&2
  return 1
}

PYTHON=$(find_python)
if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
fi
"$PYTHON" -m uv sync --frozen --python "$PYTHON" --quiet
