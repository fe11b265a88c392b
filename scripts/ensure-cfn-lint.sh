#!/usr/bin/env bash
# Installs cfn-lint (PyPI, pinned in scripts/cfn-lint-requirements.txt) into the project's own venv,
# .local/cfn-lint, unless that venv already has the pinned version (a directory test, no Python start-up).
# The infra tests lint the synthesized templates with it, so `npm run test:unit` runs this first; it needs
# only Python 3 with venv, and no Java, Maven or services. Nothing global is touched.
#
#   bash scripts/ensure-cfn-lint.sh
set -euo pipefail

cd "$(dirname "$0")/.."

requirements=scripts/cfn-lint-requirements.txt
version=$(sed -n 's/^cfn-lint==//p' "$requirements")
venv=.local/cfn-lint
compgen -G "$venv/lib/python3*/site-packages/cfn_lint-$version.dist-info" >/dev/null && exit 0

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "ensure-cfn-lint: the infra tests lint the templates with cfn-lint, which needs Python 3 with venv." >&2
  echo "  Install it (Debian/Ubuntu: sudo apt-get install -y python3 python3-venv; Fedora: sudo dnf install -y python3;" >&2
  echo "  macOS: brew install python@3), then run the tests again." >&2
  exit 1
fi

# A failed install leaves no venv behind, so the next run starts again from scratch.
echo "ensure-cfn-lint: installing cfn-lint $version into $venv ..." >&2
rm -rf "$venv"
mkdir -p .local
log=$(mktemp)
if ! { python3 -m venv "$venv" &&
  "$venv/bin/pip" install --quiet --disable-pip-version-check --requirement "$requirements"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -rf "$venv" "$log"
  echo "ensure-cfn-lint: installing cfn-lint failed (output above); it needs PyPI." >&2
  exit 1
fi
rm -f "$log"
