#!/usr/bin/env bash
# The loopback demo: installs what is missing, then runs `imans sim` (Node engine and bridge over a
# pty pair) on the sample trace. Extra arguments go to `imans sim` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/imans.mjs sim "$@"
