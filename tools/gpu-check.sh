#!/usr/bin/env bash
# The GPU check of issue 15: generation with proofs on a GPU (candle's CUDA backend, the `cuda`
# feature), validation on CPU (the bots' dense validator), over the honest rows of the detection
# matrix (the evaluation half of the committed prompts, greedy and seeded). See DEVELOPERS.md,
# "GPU builds and the GPU check".
#
#   tools/gpu-check.sh prepare            # CPU machine: build with cuda, pack what the GPU needs
#   tools/gpu-check.sh run                # GPU machine, repo root: records into $OUT (or ./gpu-out)
#   tools/gpu-check.sh validate DIR       # CPU machine: judge DIR/gpu-*.jsonl, print the table
#
# `prepare` writes .gpu/ (in .gitignore: it travels only where carried): the stripped
# cross-engine binary and the SmolLM2 GGUF in one tar archive (uncompressed: quantized weights
# barely compress, and the part count stays 3), cut into parts of at most 48 MiB so that each fits
# a device-tool call (64 MiB with the working tree), plus SHA256SUMS. `run` reassembles the parts found in .gpu/ and checks
# the archive's sha256 before anything runs. The GPU machine needs the NVIDIA driver and CUDA 13's
# runtime libraries (libcudart, libcublas, libcublasLt, libcurand, libnvrtc): `run` finds them in
# CUDA_LIB_DIR, in a Python environment's nvidia/cu13/lib (PyTorch's cu13x wheels ship them), or
# in the usual toolkit folders.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }
log() { printf '\033[1;34m[gpu-check]\033[0m %s\n' "$*" >&2; }

count=${GPU_CHECK_ITEMS:-59}      # the evaluation half: 59 odd prompt lines
tokens=${GPU_CHECK_TOKENS:-128}

case "${1:-}" in
prepare)
  tools/cuda-build.sh
  tools/fetch-models.sh
  bin=${CUDA_TARGET_DIR:-$PWD/target/cuda}/release/cross-engine
  [ -x "$bin" ] || die "$bin was not built"
  model=${VERBENCH_CACHE:-$HOME/.cache/verbench}/models/SmolLM2-135M-Instruct.Q4_1.gguf
  rm -rf .gpu && mkdir -p .gpu/stage
  cp "$bin" .gpu/stage/cross-engine && strip .gpu/stage/cross-engine
  cp "$model" .gpu/stage/model.gguf
  log "packing $(du -sh .gpu/stage | cut -f1)"
  tar -C .gpu/stage -cf .gpu/pack.tar cross-engine model.gguf
  rm -rf .gpu/stage
  (cd .gpu && split -b 48M -d pack.tar part- && sha256sum pack.tar >SHA256SUMS && rm pack.tar)
  ls -l .gpu
  parts=$(cd .gpu && ls part-* | tr '\n' ' ')
  echo
  echo "Each part travels in its own device call (carry: [\".gpu/<part>\"], command: true), back to"
  echo "back while the machine stays warm; the last call carries the last part and SHA256SUMS and"
  echo "runs tools/gpu-check.sh run. Parts: $parts"
  ;;
run)
  out=${OUT:-$PWD/gpu-out}
  mkdir -p "$out"
  [ -f .gpu/SHA256SUMS ] || die ".gpu/SHA256SUMS is missing: run 'tools/gpu-check.sh prepare' on the CPU machine and carry .gpu/"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat .gpu/part-* >"$work/pack.tar" 2>/dev/null || die "no .gpu/part-* here"
  want=$(cut -d' ' -f1 .gpu/SHA256SUMS)
  got=$(sha256sum "$work/pack.tar" | cut -d' ' -f1)
  [ "$want" = "$got" ] || die "the reassembled archive's sha256 is $got, expected $want: a part is missing or from another prepare (parts here: $(ls .gpu | tr '\n' ' '))"
  tar -C "$work" -xf "$work/pack.tar"
  libdir=${CUDA_LIB_DIR:-}
  if [ -z "$libdir" ]; then
    for d in /opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib /usr/local/lib/python3*/dist-packages/nvidia/cu13/lib \
      /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64; do
      [ -f "$d/libcublas.so.13" ] && { libdir=$d; break; }
    done
  fi
  [ -n "$libdir" ] || die "no CUDA 13 libraries found (libcublas.so.13): set CUDA_LIB_DIR"
  export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
    echo "CUDA libraries: $libdir"
    ldd "$work/cross-engine" | grep -E 'cu|nvrtc' || true
  } | tee "$out/gpu-env.txt"
  ce="$work/cross-engine --model $work/model.gguf"
  for mode in greedy seed:1000; do
    name=gpu-${mode%%:*}.jsonl
    log "candle on the GPU, $mode, $count items of $tokens tokens -> $out/$name"
    start=$SECONDS
    $ce record --engine candle --split odd --count "$count" --tokens "$tokens" --sampling "$mode" \
      --out "$out/$name" 2>&1 | tee "$out/${name%.jsonl}.log" | grep -E 'engine|Cuda|records' || true
    grep -q 'Cuda' "$out/${name%.jsonl}.log" || die "the records were not generated on the GPU (see $out/${name%.jsonl}.log)"
    echo "$mode: $((SECONDS - start)) s" | tee -a "$out/gpu-env.txt"
  done
  ;;
validate)
  dir=${2:-}
  [ -d "$dir" ] || die "usage: tools/gpu-check.sh validate DIR (the folder with gpu-greedy.jsonl and gpu-seed.jsonl)"
  cargo build --release --locked -p verbench-inference --bin cross-engine
  for f in "$dir"/gpu-greedy.jsonl "$dir"/gpu-seed.jsonl; do
    [ -f "$f" ] || die "$f is missing"
    echo "### $(basename "$f") (generated on the GPU, validated on this CPU)"
    target/release/cross-engine validate --records "$f" --engine-label "candle-cuda"
  done
  ;;
*)
  die "usage: tools/gpu-check.sh prepare | run | validate DIR"
  ;;
esac
