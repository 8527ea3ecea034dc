#!/usr/bin/env bash
# Distributed training and study workers on this machine (issue 16), as ratios measured in one run:
#  1. resnet20 training on Fashion-MNIST: 1 process × THREADS threads at batch 128 against THREADS ranks × 1 thread
#     (--nproc-per-node, Gloo on loopback) at batch 128/THREADS each, the same global batch. images/s of the second
#     epoch (metrics.jsonl, training only), best of REPEATS alternating runs.
#  2. The quick study's wall time with --jobs 1 against --jobs THREADS (threads split between the workers), each in a
#     fresh folder, STUDY_REPEATS times (default 1: a quick study takes minutes).
# Usage: [REPEATS=3] [STUDY_REPEATS=1] bench/dist_compare.sh [BUILD_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${2:-2}
REPEATS=${REPEATS:-3}
STUDY_REPEATS=${STUDY_REPEATS:-1}
SL="$PWD/$BUILD/smoothlab"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
common=(train --model resnet20 --epochs 2 --limit-train 6144 --val-size 0 --limit-test 100 --lr 0.1 --force)
ips() { /usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[1])['images_per_second'])" "$1/metrics.jsonl"; }
one=() ranks=()
for i in $(seq "$REPEATS"); do
  "$SL" "${common[@]}" --threads "$THREADS" --batch-size 128 --out "$OUT/one" >/dev/null 2>&1
  one+=("$(ips "$OUT/one")")
  "$SL" "${common[@]}" --threads 1 --batch-size $((128 / THREADS)) --nproc-per-node "$THREADS" --out "$OUT/ranks" \
    >/dev/null 2>&1
  ranks+=("$(ips "$OUT/ranks")")
done
jobs1=() jobsn=()
for i in $(seq "$STUDY_REPEATS"); do
  for j in 1 "$THREADS"; do
    rm -rf "$OUT/study"
    t0=$(date +%s.%N)
    "$SL" study --preset quick --threads "$THREADS" --jobs "$j" --out "$OUT/study" >/dev/null 2>&1
    t=$(/usr/bin/python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(date +%s.%N)")
    if [ "$j" = 1 ]; then jobs1+=("$t"); else jobsn+=("$t"); fi
  done
done
/usr/bin/python3 - "$THREADS" "${one[*]}" "${ranks[*]}" "${jobs1[*]}" "${jobsn[*]}" <<'PY'
import sys
threads = int(sys.argv[1])
one, ranks, j1, jn = ([float(v) for v in a.split()] for a in sys.argv[2:6])
print(f"resnet20 train, global batch 128, best of {len(one)}:")
print(f"  1 process x {threads} threads      {max(one):8.0f} img/s   runs: {' '.join(f'{v:.0f}' for v in one)}")
print(f"  {threads} ranks x 1 thread (Gloo)   {max(ranks):8.0f} img/s   runs: {' '.join(f'{v:.0f}' for v in ranks)}")
print(f"  ranks / process                {max(ranks) / max(one):8.2f}")
print(f"quick study wall time, best of {len(j1)}:")
print(f"  --jobs 1                       {min(j1):8.1f} s")
print(f"  --jobs {threads}                       {min(jn):8.1f} s")
print(f"  speed-up                       {min(j1) / min(jn):8.2f}")
PY
