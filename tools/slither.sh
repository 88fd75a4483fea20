#!/usr/bin/env bash
# Static analysis of contracts/ with slither (PyPI `slither-analyzer`, pinned below), installed into
# a local virtual environment (.venv-slither, gitignored). Compiles through forge, hence through
# the project's solc shim (tools/solc). Fails on any high or medium finding that is not triaged in
# slither.config.json (each triaged detector there carries a one-line reason).
set -euo pipefail
cd "$(dirname "$0")/.."
SLITHER_VERSION=0.11.3
venv=.venv-slither
if [ ! -x "$venv/bin/slither" ] || [ "$("$venv/bin/slither" --version 2>/dev/null)" != "$SLITHER_VERSION" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "slither-analyzer==$SLITHER_VERSION"
fi
export PATH="$PWD/node_modules/.bin:$PATH"
"$venv/bin/slither" . --config-file slither.config.json --fail-medium
