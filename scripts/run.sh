#!/usr/bin/env bash
# The README's run command: set up, then run the bot (sim mode unless configured otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/arbitrade run "$@"
