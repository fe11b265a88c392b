#!/usr/bin/env bash
# `npm test`: the project's one test command (the README's, and what .ci/run calls).
# Types and lint first (cheap), then every vitest project: unit, infra (CDK synth, snapshots, cdk-nag) and
# integration, whose global setup starts the real local Kafka and Cassandra when they are not running and
# stops what it started. The integration project runs on the default Kafka (local/maven/pom.xml); then the
# Kafka-facing files run again on the other tested Kafka (kafka.also-tested.version), see KAFKA_FACING.
# Arguments go to a single vitest run, and a run with arguments skips the second Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
bash scripts/ensure-test-tools.sh
mkdir -p .local
results=.local/vitest-results.json
results_integration=.local/vitest-results-integration.json
results_also=.local/vitest-results-kafka-also.json
integration_log=.local/vitest-integration.log
rm -f "$results" "$results_integration" "$results_also" # a crashed run must not print the last run's numbers
status=0

if [[ $# -gt 0 ]]; then
  node_modules/.bin/tsc --noEmit -p .
  node_modules/.bin/eslint --max-warnings 0 .
  node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
else
  # The integration project spends most of its time waiting on Kafka, Cassandra and the processes it starts;
  # the type check, the lint, and the unit and infra projects are CPU work. In one vitest run the integration
  # files started only once the others were done; side by side, in two processes, the suite takes minutes
  # less on two cores. The integration output is shown once it ends, so the two do not interleave.
  node_modules/.bin/vitest run --project integration --reporter=default --reporter=json \
    --outputFile.json="$results_integration" >"$integration_log" 2>&1 &
  integration_pid=$!
  trap 'kill "$integration_pid" 2>/dev/null || true' EXIT
  node_modules/.bin/tsc --noEmit -p . || status=$?
  node_modules/.bin/eslint --max-warnings 0 . || status=$?
  node_modules/.bin/vitest run --project unit --project infra --reporter=default --reporter=json \
    --outputFile.json="$results" || status=$?
  integration_status=0
  wait "$integration_pid" || integration_status=$?
  trap - EXIT
  cat "$integration_log"
  ((integration_status == 0)) || status=$integration_status
fi

# The files whose tests talk to Kafka through kafkajs with every request the project sends: produce, fetch
# and list offsets, consumer groups (join, sync, heartbeat, offset commit and fetch, static membership), and
# the topic admin. The CLI's tests send them all through the real runner (`local`, `run`, `replay`, a stop
# during start-up); the runner's own file adds fault cases that do not depend on the Kafka version, and runs
# on the default Kafka only, so that the second run stays short (CI time: the README's two commands).
KAFKA_FACING=(
  test/local/cli.int.test.ts
  test/local/services/services.int.test.ts
  test/lambda/runtime/kafka-topics.int.test.ts
)
if [[ $# -eq 0 ]]; then
  also=$(sed -n 's:.*<kafka.also-tested.version>\(.*\)</kafka.also-tested.version>.*:\1:p' local/maven/pom.xml)
  echo "Kafka-facing integration tests on Kafka $also (the default ran above)"
  MICROBATCH_KAFKA_VERSION="$also" node_modules/.bin/vitest run --project integration \
    --reporter=default --reporter=json --outputFile.json="$results_also" "${KAFKA_FACING[@]}" || status=$?
fi

# One plain closing line, the form CI reads whatever the runner: 'N passed, N failed'.
if [[ -f "$results" ]]; then
  # shellcheck disable=SC2016 # the quoted text is JavaScript for node, not shell: nothing in it may expand
  node -e '
    const runs = process.argv.slice(1).filter((f) => require("fs").existsSync(f)).map((f) => require(f));
    const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
    console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests") + sum("numTodoTests")} skipped`);
  ' "$PWD/$results" "$PWD/$results_integration" "$PWD/$results_also"
fi
echo "npm test took $(( $(date +%s) - started )) s"
exit "$status"
