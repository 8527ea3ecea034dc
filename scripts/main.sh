#!/usr/bin/env bash
# Set-up, then smoothlab's main job: a short label-smoothed training run on Fashion-MNIST and its evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
OUT=${1:-runs/quick-cnn-eps0.1}
build/smoothlab train --model cnn --epochs 2 --smoothing 0.1 --out "$OUT" --resume
build/smoothlab eval "$OUT"
echo "main job done: $OUT/eval.json"
