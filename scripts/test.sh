#!/usr/bin/env bash
# The README's test command: set up (including Chromium for the browser tests and promtool for
# the alert rules), then run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-browser.sh || echo "test: Chromium could not be installed; browser tests will skip"
bash scripts/setup-promtool.sh || echo "test: promtool could not be installed; alert-rule tests will skip"
exec .venv/bin/python -m pytest "$@"
