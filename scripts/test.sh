#!/usr/bin/env bash
# Set-up (packages, configure, build), then the whole test suite through CTest, then the tests that train or compare
# floating-point results once more on a second floating-point path: the AVX2 kernels of LibTorch
# (ATEN_CPU_CAPABILITY), oneDNN (DNNL_MAX_CPU_ISA) and smoothlab's own (SMOOTHLAB_CPU_ISA). OPENBLAS_CORETYPE is left
# as the environment sets it. SMOOTHLAB_SKIP_AVX2=1 skips the second pass; SMOOTHLAB_BUILD_DIR (default build) names
# the build folder (the platform matrix builds each leg in its own). The matrix of platforms: scripts/platforms.sh.
#
# Usage: scripts/test.sh [--sanitize]
#   --sanitize  everything built with ASan + UBSan (SMOOTHLAB_SANITIZE, build folder build-sanitize) and the whole
#               suite run once under them: a memory error, undefined behaviour or (LeakSanitizer, in the tests and in
#               every `smoothlab` the CLI tests start, error paths included) a leak fails its test. Python's tests
#               run with ASan's runtime and libstdc++ preloaded and leak checking off (the interpreter keeps its
#               objects at exit).
#               Suppressed: fontconfig's caches, which it keeps until exit (tests/sanitize/lsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZE=0
case ${1:-} in
  '') ;;
  --sanitize) SANITIZE=1 ;;
  *) echo "error: scripts/test.sh: unknown option '$1'" >&2
     echo "hint: scripts/test.sh [--sanitize]" >&2
     exit 2 ;;
esac
if [ $SANITIZE = 1 ]; then
  BUILD_DIR=${SMOOTHLAB_BUILD_DIR:-build-sanitize}
  export SMOOTHLAB_CMAKE_ARGS="${SMOOTHLAB_CMAKE_ARGS:-} -DSMOOTHLAB_SANITIZE=ON"
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0"
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/sanitize/ubsan.supp"
else
  BUILD_DIR=${SMOOTHLAB_BUILD_DIR:-build}
fi
t0=$SECONDS
scripts/setup.sh "$BUILD_DIR" all
cd "$BUILD_DIR"
if [ $SANITIZE = 1 ]; then
  echo "test.sh --sanitize: built in $((SECONDS - t0)) s; the suite under ASan + UBSan" >&2
  ctest --output-on-failure -j"$(nproc)" --timeout 2400
  echo "test.sh --sanitize: passed in $((SECONDS - t0)) s" >&2
  exit 0
fi
ctest --output-on-failure -j"$(nproc)" --timeout 900
if [ "${SMOOTHLAB_SKIP_AVX2:-0}" != 1 ]; then
  echo "test.sh: the tests that train or compare floating-point results, on the AVX2 paths" >&2
  ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 SMOOTHLAB_CPU_ISA=avx2 \
    ctest --output-on-failure -j"$(nproc)" --timeout 900 \
    -R '^(Trainer|DistFixture|Cli|DistillCli|DistillRun|Distill|StudyPipeline|Models|LabelSmoothing|Calib|Ece|Temperature|Meter|Mi|Projection|ProjectCli|ClusterStats|FeatureModel|Python)'
fi
