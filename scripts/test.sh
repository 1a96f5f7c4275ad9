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
mkdir -p coverage
status=0
pnpm exec vitest run --coverage --reporter=default --reporter=json --outputFile.json=coverage/vitest-results.json || status=$?
# One plain closing line, whatever the reporter printed above.
node -e '
  const r = JSON.parse(require("fs").readFileSync("coverage/vitest-results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit "$status"
