#!/usr/bin/env bash
# verbench's whole test suite: formatting, lints, contracts and Rust. Sets up the toolchain first.
# Runs every step even when one fails, prints a summary, and exits non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

failed=()
step() {
  local name=$1; shift
  printf '\n\033[1;34m==> %s\033[0m\n' "$name"
  local t0=$SECONDS
  if "$@"; then
    printf '\033[1;32m<== %s: ok (%ss)\033[0m\n' "$name" $((SECONDS - t0))
  else
    printf '\033[1;31m<== %s: FAILED (%ss)\033[0m\n' "$name" $((SECONDS - t0))
    failed+=("$name")
  fi
}

step "forge fmt --check" forge fmt --check
# slither compiles with `forge build --force` and may `forge clean`: run it before the build that
# the later steps (forge test, cargo tests reading out/) use.
step "slither" tools/slither.sh
# EIP-170: a deployed contract's runtime code is at most 24,576 bytes (initcode 49,152); anvil
# refuses bigger ones, so the sizes are checked here with the margin printed.
size_gate() {
  local out
  out=$(forge build --sizes 2>&1)
  printf '%s\n' "$out"
  ! awk -F'|' 'NF > 6 && ($5 ~ /-/ || $6 ~ /-/) { print "over the size limit:" $2; bad = 1 } END { exit !bad }' <<<"$out"
}
step "forge build (sizes within EIP-170)" size_gate
# FORGE_SNAPSHOT_CHECK: the gas figures test/Gas.t.sol records in snapshots/ must not change.
step "forge test" env FORGE_SNAPSHOT_CHECK=true forge test
# Lint gate for contracts/ (foundry.toml [lint]): any high/medium/low warning fails the step.
lint_gate() {
  local out
  out=$(forge lint --severity high --severity med --severity low 2>&1)
  printf '%s\n' "$out"
  ! grep -qE '^(error|warning)\[' <<<"$out"
}
step "forge lint" lint_gate
# Unit-test gas, stable selection (no fuzz, no invariants, no golden fixtures); see .gas-snapshot.
step "forge snapshot --check" forge snapshot --check --no-match-path 'test/invariant/*' --no-match-test 'testFuzz|golden'
step "deploy on anvil" tools/anvil-deploy.sh
step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# --no-fail-fast: every test binary runs even when an earlier one fails, so one failure hides no other.
step "cargo test" cargo test --workspace --locked --no-fail-fast

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all steps passed"
