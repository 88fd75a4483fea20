#!/usr/bin/env bash
# verbench's main demo. Sets up the toolchain, builds the contracts and the demo binary, and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
node_modules/.bin/forge build --quiet
echo "building the Rust workspace (about 10 minutes the first time on 2 cores)..." >&2
cargo run --locked -p verbench-demo --bin verbench-demo -- "$@"
