#!/usr/bin/env bash
# Installs the build tree into a temporary prefix (`cmake --install BUILD --prefix P`), then configures, builds and
# runs tests/downstream against it with find_package(smoothlab), and imports the installed Python package.
# Usage: tests/downstream/check.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/install" >/dev/null
test -x "$prefix/install/bin/smoothlab"
test -f "$prefix/install/include/smoothlab/loss/label_smoothing.h"
cmake -S "$src" -B "$prefix/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/build" -j"$(nproc)" >/dev/null
"$prefix/build/downstream"
site=$(find "$prefix/install" -type d -name site-packages | head -n 1)
if [ -n "$site" ] && [ -d "$site/smoothlab" ]; then
  # SMOOTHLAB_PYTHON_PRELOAD: ASan's runtime and libstdc++, for a package built with it (scripts/test.sh --sanitize)
  (cd "$prefix" && PYTHONPATH="$site" LD_PRELOAD="${SMOOTHLAB_PYTHON_PRELOAD:-}" \
    ASAN_OPTIONS="${SMOOTHLAB_PYTHON_PRELOAD:+detect_leaks=0}" /usr/bin/python3 -c \
    "import smoothlab, torch; print('installed python package', smoothlab.__version__, smoothlab.__file__)")
fi
