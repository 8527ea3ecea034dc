# The Debian packages of each platform leg, one list per purpose (sourced by scripts/setup.sh and scripts/root.sh).
# A leg's root is cached under the hash of its list: edit a list and the next run makes that root anew.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the lists are read by the scripts that source this file

# The main job on the host (Debian 12, LibTorch 1.13) and in the Debian 13 CPU root (LibTorch 2.6).
MAIN_PACKAGES=(
  build-essential cmake ccache pkg-config git
  libtorch-dev libgloo-dev libopenblas0-openmp zlib1g-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libcairo2-dev libturbojpeg0-dev libpng-dev
  dataset-fashion-mnist
  python3-dev pybind11-dev python3-torch python3-numpy
)
# The test suite, the benchmarks and their Python peers.
TEST_PACKAGES=(
  libgtest-dev libgmock-dev libbenchmark-dev python3-pytest
  python3-pil python3-torchvision mate-backgrounds
)
# The fuzz targets (scripts/fuzz.sh, the host leg only): clang with libFuzzer and the sanitizers' runtimes, and LLVM's
# OpenMP runtime (the library is built with OpenMP).
FUZZ_PACKAGES=(clang libclang-rt-dev libomp-dev)
# Headless Chromium: the report-rendering tests (the host leg only; elsewhere they are skipped).
BROWSER_PACKAGES=(chromium)
# `pip install .` (scikit-build-core is Debian 13's; the Debian 13 leg tests the installed package in a venv).
PIP_PACKAGES=(python3-scikit-build-core python3-venv python3-pip)
# The CUDA leg (Debian 13): LibTorch 2.6 built with CUDA 12.4, nvcc 12.4 and its host compiler g++-13, NCCL and
# Gloo's CUDA build. Compiles and links only: nothing runs there.
CUDA_PACKAGES=(
  build-essential cmake ccache pkg-config git g++-13
  libtorch-cuda-dev python3-torch-cuda nvidia-cuda-toolkit libnccl-dev libgloo-cuda-dev
  libopenblas0-openmp zlib1g-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libcairo2-dev libturbojpeg0-dev libpng-dev python3-dev pybind11-dev python3-numpy
  libgtest-dev libgmock-dev libbenchmark-dev
)
