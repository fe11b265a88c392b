#!/usr/bin/env bash
# Offline synth of the whole app in both Kafka modes: no AWS credentials, no network.
#   cdk.out/provisioned/  kafka.mode=provisioned (the default)
#   cdk.out/serverless/   kafka.mode=serverless
# (both under cdk.out/, which git ignores).
# Extra arguments go to both runs, e.g. `npm run synth -- -c stage=test`.
#
# Why each setting:
# - a fixed placeholder account and region, whose availability zones cdk.context.json carries, so the VPC
#   never asks EC2 for them;
# - AWS_EC2_METADATA_DISABLED and no profile, so the SDK never waits on the instance metadata service;
# - telemetry off, and the local cdk binary rather than npx, so nothing reaches the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_REGION="${MICROBATCH_SYNTH_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export CDK_DEFAULT_REGION="$AWS_REGION"
export CDK_DEFAULT_ACCOUNT="${MICROBATCH_SYNTH_ACCOUNT:-000000000000}"
export CDK_DISABLE_CLI_TELEMETRY=true
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE

cdk=node_modules/.bin/cdk
common=(--quiet --no-version-reporting --no-notices --no-lookups)

synth() {
  local out=$1
  shift
  local start=$SECONDS
  rm -rf "$out"
  "$cdk" synth "${common[@]}" --output "$out" "$@" >/dev/null 2> >(grep -v -e '^Bundling asset' -e 'npm warn' -e 'index.js ' -e 'Done in' -e '^$' -e '^Successfully synthesized' -e '^Supply a stack id' >&2)
  echo "synth: $out ($(find "$out" -maxdepth 1 -name '*.template.json' | wc -l) templates, $((SECONDS - start)) s)"
}

synth cdk.out/provisioned -c kafka.mode=provisioned "$@"
synth cdk.out/serverless -c kafka.mode=serverless "$@"
