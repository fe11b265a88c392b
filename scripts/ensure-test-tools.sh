#!/usr/bin/env bash
# Installs what the tests need that npm does not, when it is missing, and fetches the
# Maven artifacts of the native services. Idempotent and quiet; when everything is
# present it only runs a few `command -v` checks and a stamp-file comparison.
#
#   bash scripts/ensure-test-tools.sh
#
# On Debian/Ubuntu it installs what is missing with apt-get (as root, or with passwordless sudo). Elsewhere
# (macOS, Fedora, or no root) it names what is missing and the command that installs it there, and stops: the
# unit and infra tests need none of it but Python 3 (`npm run test:unit`, which installs cfn-lint itself).
# - Compose: `docker compose` (v2) validates docker-compose.yml where Docker has it; else Debian's
#   docker-compose 1.29, which checks the file against the Compose schema with no Docker engine.
# - Java 17 + Maven: run Kafka and Cassandra natively for the integration tests
#   (Cassandra 5.0 cannot run on Java 24+, so a newer default JDK is not enough).
# - Chromium: the UI's browser test drives it headless with playwright-core, which never downloads a browser
#   of its own. MICROBATCH_CHROMIUM points the test at another build.
# - Python 3 with venv: scripts/ensure-cfn-lint.sh puts cfn-lint (PyPI) into the project's own venv,
#   .local/cfn-lint, so nothing global is touched; the infra tests lint the templates with it.
set -euo pipefail

cd "$(dirname "$0")/.."

# Each missing tool by its Debian package name; the advice for other systems maps those names below.
missing=()
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
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

# The install command for the missing tools on a system without apt-get, or with no way to become root.
advice() {
  local brew=() cask=() dnf=() p
  for p in "${missing[@]}"; do
    case $p in
      docker-compose) brew+=(docker-compose) dnf+=(docker-compose) ;;
      maven) brew+=(maven) dnf+=(maven) ;;
      openjdk-17-jre-headless) brew+=(openjdk@17) dnf+=(java-17-openjdk-headless) ;;
      chromium) cask+=(chromium) dnf+=(chromium) ;;
      python3) brew+=(python@3) dnf+=(python3) ;;
      python3-venv) ;; # part of python3 there
    esac
  done
  echo "ensure-test-tools: missing ${missing[*]}. Install them, then run the tests again:" >&2
  if [[ $(uname -s) == Darwin ]]; then
    ((${#brew[@]})) && echo "  brew install ${brew[*]}" >&2
    ((${#cask[@]})) && echo "  brew install --cask ${cask[*]}" >&2
    echo "  then JAVA17_HOME=\$(brew --prefix openjdk@17) and MICROBATCH_CHROMIUM=<the Chromium binary>, if not found" >&2
  elif command -v dnf >/dev/null 2>&1; then
    echo "  sudo dnf install -y ${dnf[*]}" >&2
  elif command -v apt-get >/dev/null 2>&1; then
    echo "  sudo apt-get install -y ${missing[*]}" >&2
  else
    echo "  with your package manager (Debian names: ${missing[*]}); JAVA17_HOME and MICROBATCH_CHROMIUM point at them" >&2
  fi
  echo "  Without them, \`npm run test:unit\` runs the unit and infra tests (no Java, no services; Python 3 for cfn-lint)." >&2
}

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    advice
    exit 1
  fi
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      advice
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

# cfn-lint into the project's own venv (the infra tests lint the templates with it).
bash scripts/ensure-cfn-lint.sh

# Kafka (every version the tests run) and Cassandra jars into .local/cache (skipped when the cache matches the pom).
node_modules/.bin/tsx local/services/main.ts fetch --all-tested
