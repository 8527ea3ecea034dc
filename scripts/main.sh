#!/usr/bin/env bash
# Set-up, then smoothlab's main job: `smoothlab study` (quick preset) on Fashion-MNIST, written as a report.
# Rerunning reuses every finished run. Usage: scripts/main.sh [OUT_DIR]   (default: study-quick)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build main
OUT=${1:-study-quick}
build/smoothlab study --preset quick --data fashion-mnist --out "$OUT"
echo "main job done: open $OUT/report.html"
