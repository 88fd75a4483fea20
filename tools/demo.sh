#!/usr/bin/env bash
# verbench's main demo. Sets up the toolchain, builds the contracts and the demo binary, and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
node_modules/.bin/forge build --quiet
cargo run --locked --quiet -p verbench-demo --bin verbench-demo -- "$@"
