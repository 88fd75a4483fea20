#!/usr/bin/env bash
# Builds verbench's `cuda` feature (crates/inference, and the provider and challenger binaries on
# top of it) on a machine with no GPU and no CUDA toolkit, from NVIDIA's CUDA 13.0 wheels on PyPI.
# Not part of CI: the wheels are about 700 MB. See DEVELOPERS.md, "GPU builds".
#
#   tools/cuda-build.sh [--fetch-only]
#
# Environment:
#   CUDA_COMPUTE_CAP  target compute capability (default 90: H100/H200); read by candle-kernels.
#   VERBENCH_CACHE    cache root (default ~/.cache/verbench); the toolkit lands in $VERBENCH_CACHE/cuda13.
#   CUDA_TARGET_DIR   cargo target dir of this build (default target/cuda, apart from CI's target/).
#
# What it does:
#   1. downloads the pinned wheels (pip download --no-deps) and unpacks them into one prefix,
#      nvidia/cu13/{bin,include,lib,nvvm}, which serves as the toolkit root (CUDA_ROOT);
#   2. adds the unversioned library names the linker looks for (libcublas.so -> libcublas.so.13, ...);
#   3. builds a stub libcuda.so (soname libcuda.so.1) exporting every driver entry point cudarc
#      declares, so that the binaries link where no driver is installed; at run time the driver's
#      own libcuda.so.1 is loaded instead (the stub is never shipped);
#   4. cargo build --release --features cuda for the inference crate's binaries, verbench-submit
#      and the challenger, and prints what compiled and the CUDA libraries each binary needs.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[cuda-build]\033[0m %s\n' "$*" >&2; }
die() { printf 'cuda-build: %s\n' "$*" >&2; exit 1; }

cache=${VERBENCH_CACHE:-$HOME/.cache/verbench}
root=$cache/cuda13
prefix=$root/nvidia/cu13
target_dir=${CUDA_TARGET_DIR:-$PWD/target/cuda}
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}

# Pinned: nvcc stays at 13.0.x, since PTX from a newer nvcc may be refused by a 13.0 driver (580).
wheels=(
  nvidia-cuda-nvcc==13.0.88     # bin/nvcc, ptxas, nvlink
  nvidia-nvvm==13.0.88          # nvvm/bin/cicc, libdevice
  nvidia-cuda-crt==13.0.88      # include/crt/*
  nvidia-cuda-runtime==13.0.96  # include/cuda.h, cuda_fp16.h, lib/libcudart.so.13
  nvidia-cuda-cccl==13.0.85     # include/nv/target (cuda_fp16.h needs it)
  nvidia-cublas==13.0.2.14      # lib/libcublas.so.13, libcublasLt.so.13
  nvidia-curand==10.4.0.35      # lib/libcurand.so.10
  nvidia-cuda-nvrtc==13.0.88    # lib/libnvrtc.so.13
)

command -v python3 >/dev/null || die "python3 (with pip) is required to download the CUDA wheels"
command -v unzip >/dev/null || die "unzip is required (Debian: apt-get install unzip)"
command -v cc >/dev/null || die "a C compiler (cc) is required for the libcuda stub"

# 1. Wheels, each unpacked once (a stamp per wheel, so an interrupted run resumes).
mkdir -p "$root/wheels"
for w in "${wheels[@]}"; do
  stamp=$root/.unpacked-${w//=/-}
  [ -f "$stamp" ] && continue
  log "downloading $w"
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$root/wheels" "$w" \
    || die "pip could not download $w (PyPI reachable?)"
  name=${w%%==*}; version=${w##*==}
  file=$(ls "$root/wheels/${name//-/_}-$version-"*.whl 2>/dev/null | head -1)
  [ -n "$file" ] || die "no wheel file for $w in $root/wheels"
  unzip -q -o "$file" 'nvidia/*' -d "$root" || die "could not unpack $file"
  touch "$stamp"
  rm -f "$file"  # unpacked; the wheel itself is not needed again
done
[ -x "$prefix/bin/nvcc" ] || chmod +x "$prefix"/bin/* "$prefix"/nvvm/bin/* 2>/dev/null || true
[ -f "$prefix/include/cuda.h" ] || die "$prefix/include/cuda.h is missing: the runtime wheel did not unpack"
"$prefix/bin/nvcc" --version >/dev/null || die "$prefix/bin/nvcc does not run"

# 2. Unversioned names for the linker (the wheels ship only lib*.so.N).
for lib in cudart cublas cublasLt curand nvrtc; do
  real=$(cd "$prefix/lib" && ls "lib$lib.so."* 2>/dev/null | sort | head -1)
  [ -n "$real" ] || die "lib$lib.so.* not found in $prefix/lib"
  ln -sfn "$real" "$prefix/lib/lib$lib.so"
done
[ "${1:-}" = --fetch-only ] && { log "toolkit ready at $prefix"; exit 0; }

# 3. The driver stub, from the entry points of every cudarc version in Cargo.lock.
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
versions=$(awk '/^name = "cudarc"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
[ -n "$versions" ] || die "no cudarc in Cargo.lock"
sources=()
for v in $versions; do
  src=$(ls -d "$registry"/*/"cudarc-$v" 2>/dev/null | head -1)
  [ -n "$src" ] || { cargo fetch --locked -q; src=$(ls -d "$registry"/*/"cudarc-$v" | head -1); }
  [ -f "$src/src/driver/sys/mod.rs" ] || die "$src/src/driver/sys/mod.rs not found: cudarc's layout changed"
  sources+=("$src/src/driver/sys/mod.rs")
done
stub_dir=$root/stubs
mkdir -p "$stub_dir"
grep -ohE '^pub unsafe fn cu[A-Za-z0-9_]+\(' "${sources[@]}" \
  | sed -E 's/^pub unsafe fn ([A-Za-z0-9_]+)\(/\1/' | sort -u \
  | awk 'BEGIN { print "/* Link-time stand-in for the CUDA driver; never loaded where a driver is installed. */" }
         { printf "int %s(void) { return 999; /* CUDA_ERROR_UNKNOWN */ }\n", $1 }' >"$stub_dir/libcuda-stub.c"
symbols=$(grep -c '^int ' "$stub_dir/libcuda-stub.c")
[ "$symbols" -gt 100 ] || die "only $symbols driver entry points found in ${sources[*]}: cudarc's layout changed"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stub_dir/libcuda.so" "$stub_dir/libcuda-stub.c"
log "libcuda stub: $symbols entry points (cudarc $(echo $versions | tr ' ' ','))"

# 4. The build. cudarc reads the CUDA version from nvcc; bindgen_cuda and candle-kernels read
# CUDA_ROOT and CUDA_COMPUTE_CAP; the link searches CUDA_ROOT/lib and the stub directory.
export CUDA_ROOT=$prefix CUDA_PATH=$prefix CUDA_TOOLKIT_ROOT_DIR=$prefix
export PATH=$prefix/bin:$PATH
export LIBRARY_PATH=$prefix/lib:$stub_dir${LIBRARY_PATH:+:$LIBRARY_PATH}
export CARGO_TARGET_DIR=$target_dir
log "cargo build --release --features cuda (compute capability $CUDA_COMPUTE_CAP, target $target_dir)"
t0=$SECONDS
cargo build --release --locked \
  -p verbench-inference --features verbench-inference/cuda \
  -p verbench-provider -p verbench-challenger
log "built in $((SECONDS - t0)) s"

echo
echo "compiled with the cuda feature (nvcc $("$prefix/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), sm_$CUDA_COMPUTE_CAP):"
for bin in verbench-submit verbench-challenger verbench-calibrate inference-bench cross-engine detection-report; do
  f=$target_dir/release/$bin
  [ -x "$f" ] || continue
  libs=$(ldd "$f" 2>/dev/null | awk '/cu|nvrtc/ { print $1 }' | tr '\n' ' ')
  printf '  %-22s %6s MB  needs: %s\n' "$bin" "$(( $(stat -c %s "$f") / 1048576 ))" "${libs:-none}"
done
