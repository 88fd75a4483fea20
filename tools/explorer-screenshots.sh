#!/usr/bin/env bash
# Regenerates the explorer screenshots in docs/explorer/ (shown in the README): runs the demo on a
# fresh anvil chain, starts the explorer over its results, and has headless Chromium photograph
# the leaderboard, a verified and a caught commitment, and a dispute. About 5 minutes on 2 cores
# once built.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
node_modules/.bin/forge build --quiet
cargo run --locked -q -p verbench-demo --bin verbench-demo -- \
  --explorer-listen 127.0.0.1:0 --screenshots docs/explorer "$@"
