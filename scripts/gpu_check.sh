#!/usr/bin/env bash
# The GPU check: builds smoothlab against the torch of the machine it runs on (`python3 -c "import torch"`, a wheel or
# Debian's python3-torch-cuda) and runs every CUDA path once:
#   1. the CUDA tests (tests/cuda/cuda_test.cpp): the fused loss forward and backward against LibTorch's
#      cross_entropy(..., label_smoothing) on the GPU for float32, bfloat16 and float16 logits; a group of one on
#      cuda:0 with NCCL;
#   2. one epoch of resnet20 train + eval on --device cuda, at fp32 and at bf16, on generated 32×32 images;
#   3. the study's tiny preset on --device cuda.
# Sized for one modern GPU with a dozen cores (an H200 with torch 2.11, CUDA 13, 16 cores): about 5 minutes, most of
# it the build. Needs CMake, a C++ compiler nvcc supports, nvcc, and the build's libraries (fmt, nlohmann-json, CLI11,
# cairo, libturbojpeg, libpng, zlib, GoogleTest, gloo headers for c10d): installed with apt-get where missing and
# apt-get can reach its mirror; otherwise the script names what is missing and stops.
# Usage: scripts/gpu_check.sh [BUILD_DIR]   (default: build-gpu). PYTHON (default python3) names the interpreter
# whose torch to build against; SMOOTHLAB_CUDA_ARCH (default native) the CUDA architectures.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-gpu}
PYTHON=${PYTHON:-python3}
ARCH=${SMOOTHLAB_CUDA_ARCH:-native}
work=$(mktemp -d)
t_start=$SECONDS
step() { echo "gpu_check.sh: [$((SECONDS - t_start)) s] $*" >&2; }
die() { echo "error: gpu_check.sh: $*" >&2; exit 1; }

step "the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || die "nvidia-smi found no GPU"
"$PYTHON" - <<'PY' || die "$PYTHON cannot import torch with CUDA"
import torch
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"{torch.cuda.device_count()} GPU(s)")
PY
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || die "no nvcc (PATH or /usr/local/cuda/bin)"
export PATH=$PATH:/usr/local/cuda/bin
nvcc --version | tail -n 2

step "build dependencies"
missing=()
for pc in fmt cairo libturbojpeg libpng zlib gtest; do pkg-config --exists "$pc" 2>/dev/null || missing+=("$pc"); done
for h in nlohmann/json.hpp CLI/CLI.hpp; do
  [ -f "/usr/include/$h" ] || [ -f "/usr/local/include/$h" ] || missing+=("$h")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  step "installing (apt-get) for: ${missing[*]}"
  apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    cmake pkg-config libfmt-dev nlohmann-json3-dev libcli11-dev libcairo2-dev libturbojpeg0-dev libpng-dev \
    zlib1g-dev libgtest-dev libgloo-dev >/dev/null || true
  missing=()
  for pc in fmt cairo libturbojpeg libpng zlib gtest; do pkg-config --exists "$pc" 2>/dev/null || missing+=("$pc"); done
fi
[ ${#missing[@]} = 0 ] || die "missing build dependencies: ${missing[*]} (Debian/Ubuntu: libfmt-dev nlohmann-json3-dev libcli11-dev libcairo2-dev libturbojpeg0-dev libpng-dev zlib1g-dev libgtest-dev)"

step "configure against $PYTHON's torch"
prefix=$("$PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
# A wheel's NCCL header lives in the nvidia-nccl package beside torch.
nccl_inc=$("$PYTHON" -c 'import nvidia.nccl as m, os; print(os.path.join(list(m.__path__)[0], "include"))' 2>/dev/null || true)
extra=()
[ -n "$nccl_inc" ] && [ -f "$nccl_inc/nccl.h" ] && extra+=("-DCMAKE_CXX_FLAGS=-I$nccl_inc" "-DCMAKE_CUDA_FLAGS=-I$nccl_inc")
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
  -DSMOOTHLAB_BUILD_TESTS=ON -DSMOOTHLAB_BUILD_BENCH=OFF -DSMOOTHLAB_BUILD_PYTHON=OFF "${extra[@]}" | tee "$work/configure.log"
grep -q "the CUDA kernel of the fused loss" "$work/configure.log" || die "configure found no CUDA (see above)"
nccl=no
grep -q "distributed CUDA runs with c10d NCCL" "$work/configure.log" && nccl=yes
step "build ($(nproc) cores)"
cmake --build "$BUILD_DIR" -j"$(nproc)" --target smoothlab_cli smoothlab_tests

step "1. the CUDA tests"
"$BUILD_DIR/smoothlab_tests" --gtest_filter='Cuda.*' | tee "$work/tests.log"
grep -q "SKIPPED" "$work/tests.log" && die "a CUDA test was skipped on a GPU machine"
backend=$(sed -n 's/^\[ backend  \] //p' "$work/tests.log")
step "c10d backend of a CUDA group: $backend (NCCL compiled in: $nccl)"
[ "$nccl" = no ] || [ "$backend" = nccl ] || die "NCCL was compiled in but a CUDA group took $backend"

step "2. resnet20, one epoch on --device cuda, fp32 and bf16"
"$PYTHON" - "$work/data" <<'PY'
import os, sys
import numpy as np
# 32×32 RGB images of 10 classes: a class-dependent colour and stripe under noise, so one epoch learns something.
rng = np.random.default_rng(0)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for split, n in (("train", 6000), ("test", 1000)):
    y = rng.integers(0, 10, n)
    x = rng.normal(0.5, 0.2, (n, 32, 32, 3))
    x[np.arange(n), :, y * 3 % 32, y % 3] += 0.4
    np.save(f"{out}/{split}_images.npy", (np.clip(x, 0, 1) * 255).astype(np.uint8))
    np.save(f"{out}/{split}_labels.npy", y.astype(np.int64))
PY
for precision in fp32 bf16; do
  "$BUILD_DIR/smoothlab" train --data "npy:$work/data" --val-size 1000 --model resnet20 --epochs 1 --smoothing 0.1 \
    --device cuda --precision "$precision" --out "$work/run-$precision"
  "$BUILD_DIR/smoothlab" eval "$work/run-$precision" --no-diagrams
  "$PYTHON" - "$work/run-$precision/eval.json" "$precision" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
acc = e["test"]["accuracy"]
print(f"resnet20 {sys.argv[2]} on cuda: test accuracy {acc:.3f}, ECE {e['test']['ece']:.3f}")
assert acc > 0.2, f"one epoch on separable data should beat chance (0.1) clearly: {acc}"
PY
done

step "3. the study's tiny preset on --device cuda"
"$BUILD_DIR/smoothlab" study --preset tiny --data "npy:$work/data" --device cuda --out "$work/study"
{ test -s "$work/study/report.html" && test -s "$work/study/summary.json"; } || die "the study wrote no report"
rm -rf "$work"
step "done: every CUDA path ran"
