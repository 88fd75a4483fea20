#!/usr/bin/env bash
# verbench's main demo. Sets up the toolchain, builds the contracts and the demo binary, and runs it;
# it then serves the explorer over its results until Ctrl-C (`--exit` stops at once, for CI).
# `--eigenlayer` runs it on the EigenLayer back end (verbench-devnet demo).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
node_modules/.bin/forge build --quiet
echo "building the Rust workspace (about 17 minutes the first time on 2 cores)..." >&2
if [[ "${1:-}" == "--eigenlayer" ]]; then
  shift
  # The EigenLayer back end: the core comes from the eigen-utils crate, which only verbench-devnet
  # depends on.
  cargo run --locked -p verbench-devnet --bin verbench-devnet -- demo "$@"
else
  cargo run --locked -p verbench-demo --bin verbench-demo -- "$@"
fi
