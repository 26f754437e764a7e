#!/usr/bin/env bash
# The README's test command: set up (idempotent), lint, then the whole test suite against real local servers.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/python -m pytest -q -n 4 --dist loadfile --max-worker-restart 0 "$@"
