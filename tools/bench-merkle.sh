#!/usr/bin/env bash
# Merkle benchmark (not a test): Rust build/prove/verify times and on-chain verification gas.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
echo "## Rust (release, $(nproc) cores)"
cargo run --release -q -p verbench-merkle --bin merkle-bench
echo
echo "## Solidity: Merkle.verifyCalldata execution gas (measured with gasleft() inside the callee)"
node_modules/.bin/forge test --match-contract MerkleGasBench -vv 2>&1 | grep 'gas, depth'
