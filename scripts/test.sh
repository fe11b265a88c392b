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
node_modules/.bin/vitest run "$@"
echo "npm test took $(( $(date +%s) - started )) s"
