#!/usr/bin/env bash
# Installs the Debian packages smoothlab needs (idempotent, non-interactive), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR] [main|all]   (defaults: build, all)
#   main  the packages and targets of the main job: the library, the program (build/smoothlab) and the Python
#         package (build/python/smoothlab)
#   all   also the test suite (GoogleTest, pytest), the benchmarks and their Python peers, headless Chromium
#   fuzz  the libFuzzer programs (fuzz/): the library's packages and clang's; a build folder of its own, compiled by
#         clang with libFuzzer's coverage, ASan and UBSan (scripts/fuzz.sh)
# Set SMOOTHLAB_SKIP_APT=1 to skip apt-get; SMOOTHLAB_CMAKE_ARGS adds configure options.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
PROFILE=${2:-all}
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
case $PROFILE in
  main) PACKAGES=("${MAIN_PACKAGES[@]}"); TARGETS=(--target smoothlab_main_job) ;;
  all) PACKAGES=("${MAIN_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BROWSER_PACKAGES[@]}"); TARGETS=() ;;
  fuzz) PACKAGES=("${MAIN_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"); TARGETS=(--target smoothlab_fuzz) ;;
  *) echo "error: scripts/setup.sh: unknown profile '$PROFILE' (known: main, all, fuzz)" >&2; exit 2 ;;
esac
if [ "${SMOOTHLAB_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi
# The main job configures without the test suite and benchmarks (their packages may be absent); `all` turns them on.
if [ "$PROFILE" = main ] && [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  OPTIONS=(-DSMOOTHLAB_BUILD_TESTS=OFF -DSMOOTHLAB_BUILD_BENCH=OFF)
elif [ "$PROFILE" = main ]; then
  OPTIONS=()  # keep what an earlier configure chose
elif [ "$PROFILE" = fuzz ]; then
  # -O1 with line tables: libFuzzer's advice, and a LibTorch translation unit under ASan compiles much faster than at -O3.
  OPTIONS=(-DSMOOTHLAB_FUZZ=ON -DSMOOTHLAB_BUILD_TESTS=OFF -DSMOOTHLAB_BUILD_BENCH=OFF -DSMOOTHLAB_BUILD_PYTHON=OFF
           "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -gline-tables-only -DNDEBUG")
  # The compiler only at the first configure (naming it again, spelt otherwise, would make CMake start the folder over).
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || OPTIONS+=(-DCMAKE_CXX_COMPILER=clang++)
else
  OPTIONS=(-DSMOOTHLAB_BUILD_TESTS=ON -DSMOOTHLAB_BUILD_BENCH=ON)
fi
# shellcheck disable=SC2086  # SMOOTHLAB_CMAKE_ARGS is a list of options
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${OPTIONS[@]}" ${SMOOTHLAB_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" "${TARGETS[@]}"
