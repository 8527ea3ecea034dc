#!/usr/bin/env bash
# Runs bench/train_bench (C++) and bench/train_peer.py (PyTorch Python) alternately on the same threads, REPEATS times
# each (default 3: a shared machine drifts between two back-to-back runs), and prints each side's best images/s and the
# ratio for training (batch 128) and evaluation (ours at its default eval batch, 256; the peer at its best batch of
# 128..2000).
# Usage: [REPEATS=3] bench/train_compare.sh [BUILD_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${2:-2}
REPEATS=${REPEATS:-3}
OUT=$(mktemp -d)
for i in $(seq "$REPEATS"); do
  SMOOTHLAB_BENCH_THREADS=$THREADS "$BUILD/bench/train_bench" --benchmark_format=json >"$OUT/cpp$i.json"
  /usr/bin/python3 bench/train_peer.py --threads "$THREADS" >"$OUT/peer$i.json"
done
/usr/bin/python3 - "$OUT" "$REPEATS" <<'PY'
import json, sys
out, repeats = sys.argv[1], int(sys.argv[2])
cpp = [json.load(open(f"{out}/cpp{i}.json"))["benchmarks"] for i in range(1, repeats + 1)]
peer = [json.load(open(f"{out}/peer{i}.json")) for i in range(1, repeats + 1)]
print(f"threads {peer[0]['threads']}, PyTorch {peer[0]['torch']}, best of {repeats} alternating runs")
print(f"{'work':<18}{'smoothlab img/s':>16}{'PyTorch img/s':>15}{'ratio':>8}   all runs (smoothlab | PyTorch)")
for kind in ("Train", "Eval"):
    for model in ("cnn", "resnet20"):
        ours = [next(b for b in run if b["name"].startswith(f"BM_{kind}/{model}"))["items_per_second"] for run in cpp]
        theirs = [p[f"{kind.lower()}/{model}"] for p in peer]
        runs = " ".join(f"{v:.0f}" for v in ours) + " | " + " ".join(f"{v:.0f}" for v in theirs)
        print(f"{kind.lower() + ' ' + model:<18}{max(ours):>16.0f}{max(theirs):>15.0f}{max(ours) / max(theirs):>8.2f}   {runs}")
PY
rm -rf "$OUT"
