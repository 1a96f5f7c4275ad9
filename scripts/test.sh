#!/usr/bin/env bash
# The whole test suite from a fresh clone: install, lint + format check,
# type check, build, then every test with coverage thresholds enforced.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] lint and format"
pnpm run -s lint
echo "[test] type check"
pnpm run -s typecheck
echo "[test] tests with coverage"
pnpm exec vitest run --coverage
