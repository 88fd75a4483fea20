#!/usr/bin/env bash
# Deploys the contracts to a throw-away anvil with script/Deploy.s.sol and checks
# deployments/<chainId>.json: both addresses hold code and the game is the service manager's slasher.
# anvil is always stopped (trap), even when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
rpc="http://127.0.0.1:$port"
chain_id=31337
out="deployments/$chain_id.json"
log=$(mktemp)
had_file=0
[ -f "$out" ] && had_file=1 && cp "$out" "$log.keep"

"$bin/anvil" --port "$port" --chain-id "$chain_id" --silent >"$log" 2>&1 &
anvil_pid=$!
cleanup() {
  kill "$anvil_pid" 2>/dev/null || true
  wait "$anvil_pid" 2>/dev/null || true
  # Leave the committed deployments file as it was (anvil addresses are deterministic anyway).
  if [ "$had_file" = 1 ]; then mv "$log.keep" "$out"; fi
  rm -f "$log"
}
trap cleanup EXIT

# Wait for anvil (up to 60 s: it starts slowly on a loaded machine).
up=0
for _ in $(seq 1 600); do
  "$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && { up=1; break; }
  sleep 0.1
done
[ "$up" = 1 ] || { echo "anvil did not answer on $rpc within 60 s:" >&2; cat "$log" >&2; exit 1; }

# anvil's first development account (public, well-known test key).
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
"$bin/forge" script script/Deploy.s.sol --rpc-url "$rpc" --broadcast --private-key "$key" -q

sm=$(node -e "console.log(require('./$out').serviceManager)")
game=$(node -e "console.log(require('./$out').disputeGame)")
[ "$(node -e "console.log(require('./$out').chainId)")" = "$chain_id" ] || { echo "wrong chainId in $out" >&2; exit 1; }
for a in "$sm" "$game"; do
  code=$("$bin/cast" code "$a" --rpc-url "$rpc")
  [ "${#code}" -gt 2 ] || { echo "no code at $a" >&2; exit 1; }
done
slasher=$("$bin/cast" call "$sm" 'disputeGame()(address)' --rpc-url "$rpc")
[ "${slasher,,}" = "${game,,}" ] || { echo "service manager's slasher $slasher is not the game $game" >&2; exit 1; }
manager=$("$bin/cast" call "$game" 'serviceManager()(address)' --rpc-url "$rpc")
[ "${manager,,}" = "${sm,,}" ] || { echo "game's service manager $manager is not $sm" >&2; exit 1; }
# anvil's addresses are deterministic: the script must write exactly the committed file (which the
# chain crate's tests compare with the Rust deployer's output, so both writers agree).
if [ "$had_file" = 1 ] && ! cmp -s "$out" "$log.keep"; then
  echo "script/Deploy.s.sol wrote a $out that differs from the committed one:" >&2
  diff "$log.keep" "$out" >&2 || true
  exit 1
fi
echo "deployed on anvil (chain $chain_id): ServiceManager $sm, DisputeGame $game"
