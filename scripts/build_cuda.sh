#!/usr/bin/env bash
# The CUDA leg of the platform matrix, run inside its Debian 13 root (scripts/root.sh run cuda): configure against the
# CUDA LibTorch 2.6 with nvcc 12.4 and compile and link every target (the library with the CUDA loss kernel and NCCL,
# the program, the Python package, the test suite, the benchmarks) for sm_80 and sm_90. Nothing runs: no GPU.
# One compiler for C++ and CUDA host code: g++-13, the newest nvcc 12.4 supports (CMake refuses a mismatch). It links
# against the system's C++ runtime, not its own: Debian 13's g++-13 ships a libstdc++ 13 to link with, and the system's
# C++ libraries, built by g++ 14, need libstdc++ 14's symbols (libfmt.so.10: __cxa_call_terminate@CXXABI_1.3.15); at
# run time the loader uses the system's libstdc++.so.6 anyway.
# Usage: scripts/build_cuda.sh [BUILD_DIR]   (default: build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-cuda}
CXX_BIN=${SMOOTHLAB_CUDA_HOST_CXX:-g++-13}
log=$(mktemp)
runtime=$PWD/$BUILD_DIR/system-libstdc++
mkdir -p "$runtime"
ln -sf "$(realpath "$(g++ -print-file-name=libstdc++.so)")" "$runtime/libstdc++.so"
link="-L$runtime"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX_BIN" \
  -DCMAKE_CUDA_HOST_COMPILER="$CXX_BIN" -DCMAKE_CUDA_ARCHITECTURES="80;90" \
  -DCMAKE_EXE_LINKER_FLAGS="$link" -DCMAKE_SHARED_LINKER_FLAGS="$link" -DCMAKE_MODULE_LINKER_FLAGS="$link" \
  -DSMOOTHLAB_BUILD_TESTS=ON -DSMOOTHLAB_BUILD_BENCH=ON -DSMOOTHLAB_BUILD_PYTHON=ON | tee "$log"
# What CMake found must be the CUDA build, not a quiet fallback to the CPU one.
for line in "distributed CUDA runs with c10d NCCL" "CUDA kernel of the fused loss" "Python package: building"; do
  grep -q "$line" "$log" || { echo "error: build_cuda.sh: configure did not report '$line'" >&2; exit 1; }
done
cmake --build "$BUILD_DIR" -j"$(nproc)"
# Every CUDA line compiled for both architectures: the kernel's object holds sm_80 and sm_90 code.
obj=$(find "$BUILD_DIR" -name 'fused_kernel_cuda.cu.o' | head -n 1)
archs=$(cuobjdump --list-elf "$obj" | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' ')
echo "build_cuda.sh: $obj holds code for: $archs" >&2
for a in sm_80 sm_90; do
  case " $archs" in *" $a "*) ;; *) echo "error: build_cuda.sh: no $a code in $obj" >&2; exit 1 ;; esac
done
for target in smoothlab tests/smoothlab_tests python/smoothlab/_C*.so bench/loss_bench bench/train_bench; do
  # shellcheck disable=SC2086  # a glob (the extension's name has the Python ABI tag)
  ls "$BUILD_DIR"/$target >/dev/null || { echo "error: build_cuda.sh: $target was not built" >&2; exit 1; }
done
echo "build_cuda.sh: the library, program, Python extension, tests and benchmarks compiled and linked against LibTorch" \
  "$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v ? "." : "") $3} END {print v}' \
    /usr/include/torch/csrc/api/include/torch/version.h) by nvcc" \
  "$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') and $("$CXX_BIN" --version | head -n 1)" >&2
