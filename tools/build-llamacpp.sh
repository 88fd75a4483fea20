#!/usr/bin/env bash
# Builds verbench's release binaries with the llama.cpp generation engine (cargo feature
# `llamacpp`, crates/inference/src/llamacpp.rs): verbench-submit (`--engine llamacpp`; its
# default build has the feature), and the measuring tools that take it only from here:
# verbench-calibrate (`trace --engine llamacpp`), cross-engine and inference-bench.
#
#   tools/build-llamacpp.sh [--test]
#
# llama.cpp is compiled from source by the llama-cpp-2 crate (pinned in Cargo.lock) with cmake
# and libclang; on Debian/Ubuntu this script installs `cmake clang libclang-dev` when missing.
# A cold release build takes about 7 minutes on 2 cores, llama.cpp included (docs/performance.md);
# the binaries need no GPU. With --test it also runs the engine's tests
# (crates/inference/tests/it/llamacpp.rs) on the real SmolLM2 file.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[build-llamacpp]\033[0m %s\n' "$*" >&2; }

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v clang >/dev/null 2>&1 || missing+=(clang)
{ compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' || compgen -G '/usr/lib/*/libclang*.so*'; } >/dev/null \
  || missing+=(libclang-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing ${missing[*]} (Debian) for llama.cpp's build"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
  else
    echo "build-llamacpp: needs ${missing[*]} (Debian/Ubuntu: apt-get install cmake clang libclang-dev)" >&2
    exit 1
  fi
fi

features=verbench-inference/llamacpp,verbench-provider/llamacpp
t0=$SECONDS
log "cargo build --release --features llamacpp (llama.cpp from source: the first build is long)"
cargo build --release --locked -p verbench-inference -p verbench-provider --features "$features"
log "built in $((SECONDS - t0)) s: target/release/{verbench-submit,verbench-calibrate,cross-engine,inference-bench}"

if [ "${1:-}" = --test ]; then
  tools/fetch-models.sh
  log "the llama.cpp engine's tests"
  cargo test --release --locked -p verbench-inference --features verbench-inference/llamacpp --test it -- llamacpp
fi
