#!/usr/bin/env bash
# Set-up (packages, configure, build), then the whole test suite through CTest, then the tests that train or compare
# floating-point results once more on a second floating-point path: the AVX2 kernels of LibTorch
# (ATEN_CPU_CAPABILITY), oneDNN (DNNL_MAX_CPU_ISA) and smoothlab's own (SMOOTHLAB_CPU_ISA). OPENBLAS_CORETYPE is left
# as the environment sets it. SMOOTHLAB_SKIP_AVX2=1 skips the second pass; SMOOTHLAB_BUILD_DIR (default build) names
# the build folder (the platform matrix builds each leg in its own). The matrix of platforms: scripts/platforms.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SMOOTHLAB_BUILD_DIR:-build}
scripts/setup.sh "$BUILD_DIR" all
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 900
if [ "${SMOOTHLAB_SKIP_AVX2:-0}" != 1 ]; then
  echo "test.sh: the tests that train or compare floating-point results, on the AVX2 paths" >&2
  ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 SMOOTHLAB_CPU_ISA=avx2 \
    ctest --output-on-failure -j"$(nproc)" --timeout 900 \
    -R '^(Trainer|DistFixture|Cli|DistillCli|DistillRun|Distill|StudyPipeline|Models|LabelSmoothing|Calib|Ece|Temperature|Meter|Mi|Projection|ProjectCli|ClusterStats|FeatureModel|Python)'
fi
