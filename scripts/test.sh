#!/usr/bin/env bash
# The test command: README's and CI's. Installs what is missing, type-checks, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.portable.json --noEmit
npx vitest run "$@"
