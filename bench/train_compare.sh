#!/usr/bin/env bash
# Runs bench/train_bench (C++) and bench/train_peer.py (PyTorch Python, at fp32 and under torch.autocast at bf16)
# alternately on the same threads, REPEATS times each (default 3: a shared machine drifts between two back-to-back
# runs), and prints each side's best images/s and the ratio for training (batch 128) and evaluation (ours at its
# default eval batch, 256; the peer at its best batch of 128..2000), then each side's bf16/fp32 speed-up. The peer runs
# with smoothlab's allocator setting (no memory handed back to the system: core/allocator.h) set through glibc's
# tunables, so neither side pays page faults the other does not.
# Usage: [REPEATS=3] bench/train_compare.sh [BUILD_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${2:-2}
REPEATS=${REPEATS:-3}
OUT=$(mktemp -d)
for i in $(seq "$REPEATS"); do
  SMOOTHLAB_BENCH_THREADS=$THREADS "$BUILD/bench/train_bench" --benchmark_format=json >"$OUT/cpp$i.json"
  for p in fp32 bf16; do
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \
      /usr/bin/python3 bench/train_peer.py --threads "$THREADS" --precision $p >"$OUT/peer-$p$i.json"
  done
done
/usr/bin/python3 - "$OUT" "$REPEATS" <<'PY'
import json, sys
out, repeats = sys.argv[1], int(sys.argv[2])
cpp = [json.load(open(f"{out}/cpp{i}.json"))["benchmarks"] for i in range(1, repeats + 1)]
peer = {p: [json.load(open(f"{out}/peer-{p}{i}.json")) for i in range(1, repeats + 1)] for p in ("fp32", "bf16")}
print(f"threads {peer['fp32'][0]['threads']}, PyTorch {peer['fp32'][0]['torch']}, best of {repeats} alternating runs")
print(f"{'work':<24}{'smoothlab img/s':>16}{'PyTorch img/s':>15}{'ratio':>8}   all runs (smoothlab | PyTorch)")
best = {}
for kind in ("Train", "Eval"):
    for model in ("cnn", "resnet20"):
        for p in ("fp32", "bf16"):
            prefix = f"BM_{kind}/{model}{'_bf16' if p == 'bf16' else ''}/"
            ours = [next(b for b in run if b["name"].startswith(prefix))["items_per_second"] for run in cpp]
            theirs = [r[f"{kind.lower()}/{model}"] for r in peer[p]]
            best[kind, model, p] = (max(ours), max(theirs))
            runs = " ".join(f"{v:.0f}" for v in ours) + " | " + " ".join(f"{v:.0f}" for v in theirs)
            name = f"{kind.lower()} {model} {p}"
            print(f"{name:<24}{max(ours):>16.0f}{max(theirs):>15.0f}{max(ours) / max(theirs):>8.2f}   {runs}")
print(f"{'bf16 / fp32':<24}{'smoothlab':>16}{'PyTorch':>15}")
for kind in ("Train", "Eval"):
    for model in ("cnn", "resnet20"):
        o32, t32 = best[kind, model, "fp32"]
        o16, t16 = best[kind, model, "bf16"]
        print(f"{kind.lower() + ' ' + model:<24}{o16 / o32:>16.2f}{t16 / t32:>15.2f}")
PY
rm -rf "$OUT"
