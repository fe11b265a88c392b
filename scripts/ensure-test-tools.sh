#!/usr/bin/env bash
# Installs what the tests need that npm does not, when it is missing, and fetches the
# Maven artifacts of the native services. Idempotent and quiet; when everything is
# present it only runs a few `command -v` checks and a stamp-file comparison.
#
#   bash scripts/ensure-test-tools.sh
#
# Needs: root (or passwordless sudo) for apt-get on Debian/Ubuntu, when something is missing.
# - docker-compose (Debian's): validates docker-compose.yml in test/local/services.
# - Java 17 + Maven: run Kafka and Cassandra natively for the integration tests
#   (Cassandra 5.0 cannot run on Java 24+, so a newer default JDK is not enough).
# - Chromium (Debian's): the UI's browser test drives it headless with playwright-core, which never
#   downloads a browser of its own. MICROBATCH_CHROMIUM points the test at another build.
# - Python 3 with venv: cfn-lint (PyPI, pinned in scripts/cfn-lint-requirements.txt) goes into the project's
#   own venv, .local/cfn-lint, so nothing global is touched; the infra tests lint the templates with it.
set -euo pipefail

cd "$(dirname "$0")/.."

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# The same places local/services/java.ts looks in: JAVA17_HOME, Debian's path, java on PATH.
java17_present() {
  [[ -n "${JAVA17_HOME:-}" ]] && return 0
  ls /usr/lib/jvm/java-17-openjdk-*/bin/java >/dev/null 2>&1 && return 0
  java -version 2>&1 | grep -q 'version "17[."]'
}
java17_present || missing+=(openjdk-17-jre-headless)
[[ -x "${MICROBATCH_CHROMIUM:-/usr/bin/chromium}" ]] || missing+=(chromium)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-tools: missing ${missing[*]}, and there is no apt-get here: install them with your package manager." >&2
    exit 1
  fi
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      echo "ensure-test-tools: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "ensure-test-tools: installing ${missing[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "ensure-test-tools: apt-get install ${missing[*]} failed (output above)." >&2
    rm -f "$apt_log"
    exit 1
  fi
  rm -f "$apt_log"
fi

# cfn-lint into .local/cfn-lint, unless that venv already has the pinned version (a directory test, no Python
# start-up). A failed install leaves no venv behind, so the next run starts again from scratch.
cfn_lint_requirements=scripts/cfn-lint-requirements.txt
cfn_lint_version=$(sed -n 's/^cfn-lint==//p' "$cfn_lint_requirements")
cfn_lint_venv=.local/cfn-lint
if ! compgen -G "$cfn_lint_venv/lib/python3*/site-packages/cfn_lint-$cfn_lint_version.dist-info" >/dev/null; then
  echo "ensure-test-tools: installing cfn-lint $cfn_lint_version into $cfn_lint_venv ..." >&2
  rm -rf "$cfn_lint_venv"
  mkdir -p .local
  pip_log=$(mktemp)
  if ! { python3 -m venv "$cfn_lint_venv" &&
    "$cfn_lint_venv/bin/pip" install --quiet --disable-pip-version-check --requirement "$cfn_lint_requirements"; } >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    rm -rf "$cfn_lint_venv" "$pip_log"
    echo "ensure-test-tools: installing cfn-lint failed (output above); it needs PyPI." >&2
    exit 1
  fi
  rm -f "$pip_log"
fi

# Kafka (every version the tests run) and Cassandra jars into .local/cache (skipped when the cache matches the pom).
node_modules/.bin/tsx local/services/main.ts fetch --all-tested
