#!/usr/bin/env bash
# The README's demo command: set up (idempotent), then run the demo (a simulated mine and plant, the whole pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/hazwatch demo "$@"
