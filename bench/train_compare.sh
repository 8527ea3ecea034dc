#!/usr/bin/env bash
# Runs bench/train_bench (C++) and bench/train_peer.py (PyTorch Python) back to back on the same threads and prints
# images/s and the ratio for training (batch 128) and evaluation (ours at its default eval batch, 256; the peer at its best
# batch of 128..2000).
# Usage: bench/train_compare.sh [BUILD_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${2:-2}
OUT=$(mktemp -d)
SMOOTHLAB_BENCH_THREADS=$THREADS "$BUILD/bench/train_bench" --benchmark_format=json >"$OUT/cpp.json"
/usr/bin/python3 bench/train_peer.py --threads "$THREADS" >"$OUT/peer.json"
/usr/bin/python3 - "$OUT/cpp.json" "$OUT/peer.json" <<'PY'
import json, sys
benchmarks = json.load(open(sys.argv[1]))["benchmarks"]
peer = json.load(open(sys.argv[2]))
print(f"threads {peer['threads']}, PyTorch {peer['torch']}")
print(f"{'work':<18}{'smoothlab img/s':>16}{'PyTorch img/s':>15}{'ratio':>8}")
for kind in ("Train", "Eval"):
    for model in ("cnn", "resnet20"):
        ours = next(b for b in benchmarks if b["name"].startswith(f"BM_{kind}/{model}"))["items_per_second"]
        theirs = peer[f"{kind.lower()}/{model}"]
        print(f"{kind.lower() + ' ' + model:<18}{ours:>16.0f}{theirs:>15.0f}{ours / theirs:>8.2f}")
PY
rm -rf "$OUT"
