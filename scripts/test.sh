#!/usr/bin/env bash
# `npm test`: the project's one test command (the README's, and what .ci/run calls).
# Types and lint first (cheap), then every vitest project: unit, infra (CDK synth, snapshots, cdk-nag) and
# integration, whose global setup starts the real local Kafka and Cassandra when they are not running and
# stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
bash scripts/ensure-test-tools.sh
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/eslint --max-warnings 0 .
mkdir -p .local
results=.local/vitest-results.json
rm -f "$results" # a crashed run must not print the last run's numbers
status=0
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line, the form CI reads whatever the runner: 'N passed, N failed'.
if [[ -f "$results" ]]; then
  node -e 'const r = require(process.argv[1]); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$PWD/$results"
fi
echo "npm test took $(( $(date +%s) - started )) s"
exit "$status"
