#!/usr/bin/env bash
# inference-bench with llama.cpp measured in the same run, on the same GGUF and token ids.
#
#   ./tools/llamacpp-bench.sh [inference-bench flags, e.g. --tokens 128 --runs 5]
#
# llama.cpp comes from PyPI as the source package llama-cpp-python (pinned below, with its
# sha256), built once with cmake into a virtual environment in the cache:
#   ${VERBENCH_CACHE:-$HOME/.cache/verbench}/llamacpp-venv
# The build uses the same instruction set as our x86-64-v3 build (AVX2/FMA/F16C/BMI2, no
# -march=native), so both engines run the same kind of arithmetic. About 10 minutes on 2 cores.
# Not part of CI: this is a benchmark, and its output goes in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.3.36
want_sha=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
venv="${VERBENCH_CACHE:-$HOME/.cache/verbench}/llamacpp-venv"

log() { printf '\033[1;34m[llamacpp-bench]\033[0m %s\n' "$*" >&2; }

if ! "$venv/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null; then
  command -v cmake >/dev/null || log "no cmake on PATH: pip brings one from PyPI as a build dependency"
  command -v g++ >/dev/null || { log "a C++ compiler (g++) is needed to build llama.cpp"; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  log "downloading llama-cpp-python $version (source package)"
  python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python -d "$tmp" "llama-cpp-python==$version"
  sdist="$tmp/llama_cpp_python-$version.tar.gz"
  got=$(sha256sum "$sdist" | cut -d' ' -f1)
  [ "$got" = "$want_sha" ] || { log "sha256 mismatch for $sdist: $got"; exit 1; }
  log "building llama.cpp into $venv (about 10 minutes on 2 cores)"
  python3 -m venv "$venv"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_CURL=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$venv/bin/pip" install --quiet "$sdist"
  rm -rf "$tmp"
  trap - EXIT
fi

./tools/fetch-models.sh
exec cargo run --release -p verbench-inference --bin inference-bench -- \
  --llamacpp-python "$venv/bin/python" "$@"
