#!/usr/bin/env bash
# Fuzzes every file reader (fuzz/targets/: IDX, CIFAR, NPY, calibrate's CSV/NPY inputs, images, the image-folder
# index, config.json, metrics.jsonl, a study's run records and locks, checkpoints) with libFuzzer under ASan + UBSan.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (default 600: each target runs that long, two at a time; all
#        targets, or the ones named, e.g. `scripts/fuzz.sh 600 metrics run_config` after a fix to those readers)
# Set-up as scripts/setup.sh's `fuzz` profile (clang's packages, build folder build-fuzz or $SMOOTHLAB_FUZZ_BUILD_DIR).
# Each target starts from its seeds (fuzz/corpus/<target>/) and regression inputs (tests/fuzz/regressions/<target>/),
# copied into a working corpus kept in the build folder between runs (the checked-in seeds are never written).
# Prints per target: executions, coverage (libFuzzer's cov: edges, ft: features), corpus size and findings. A finding
# (crash, leak, timeout > 1 s (run_lock: 5 s), memory > 2 GB) is saved under BUILD/fuzz-findings/<target>/ and the
# exit code is 1.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
SECONDS_EACH=${1:-600}
case $SECONDS_EACH in ''|*[!0-9]*) echo "error: scripts/fuzz.sh: SECONDS must be a whole number, got '$SECONDS_EACH'" >&2; exit 2 ;; esac
targets=()
if [ $# -gt 1 ]; then
  for t in "${@:2}"; do
    if [ ! -f "fuzz/targets/$t.cpp" ]; then
      echo "error: scripts/fuzz.sh: no fuzz target '$t'" >&2
      echo "hint: the targets are $(cd fuzz/targets && ls *.cpp | sed 's/\.cpp$//' | tr '\n' ' ')" >&2
      exit 2
    fi
    targets+=("$t")
  done
else
  for source in fuzz/targets/*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
BUILD_DIR=${SMOOTHLAB_FUZZ_BUILD_DIR:-build-fuzz}
t0=$SECONDS
scripts/setup.sh "$BUILD_DIR" fuzz || { echo "error: scripts/fuzz.sh: the fuzz build failed" >&2; exit 1; }
echo "fuzz.sh: built in $((SECONDS - t0)) s" >&2

# The longest input per target: a few records or a small file of each format (the seeds are at most a few KB).
max_len() {
  case $1 in
    cifar10|cifar100) echo 16384 ;;
    image|checkpoint|study_plan) echo 16384 ;;
    run_config) echo 8192 ;;
    run_lock) echo 256 ;;
    *) echo 4096 ;;
  esac
}

# Seconds one input may take: 1, but the stale-lock case of run_lock starts and joins the claim's renewal thread
# (10 ms sleeps), which a loaded machine can stretch past a second.
timeout_s() {
  case $1 in
    run_lock) echo 5 ;;
    *) echo 1 ;;
  esac
}

work=$BUILD_DIR/fuzz-work findings=$BUILD_DIR/fuzz-findings
mkdir -p "$work/logs" "$findings"

run_target() {
  local t=$1 corpus=$work/corpus/$1 dict=fuzz/dicts/$1.dict
  mkdir -p "$corpus"
  rm -rf "${findings:?}/$t" && mkdir -p "$findings/$t"
  for seeds in fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
  done
  local args=(-max_total_time="$SECONDS_EACH" -timeout="$(timeout_s "$t")" -rss_limit_mb=2048 -max_len="$(max_len "$t")"
              -print_final_stats=1 -artifact_prefix="$findings/$t/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  "$BUILD_DIR/fuzz/fuzz_$t" "${args[@]}" "$corpus" >"$work/logs/$t.log" 2>&1
  echo $? >"$work/logs/$t.rc"
}

echo "fuzz.sh: ${#targets[@]} targets, $SECONDS_EACH s each, two at a time; logs in $work/logs" >&2
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ $running -ge 2 ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=()
printf '%-20s %12s %8s %8s %8s  %s\n' target executions cov ft corpus findings
for t in "${targets[@]}"; do
  log=$work/logs/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # the last status line: "#N DONE cov: C ft: F corp: K/..." (or the last pulse before a finding)
  status=$(grep -aE '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  corpus=$(find "$work/corpus/$t" -type f | wc -l)
  found=$(find "$findings/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  rc=$(cat "$work/logs/$t.rc" 2>/dev/null || echo "?")
  note=$found
  if [ "$found" -gt 0 ] || [ "$rc" != 0 ]; then
    failed+=("$t")
    note="$found (exit $rc): $(find "$findings/$t" -type f -printf '%f ' | head -c 200)"
  fi
  printf '%-20s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$note"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]}: the inputs are in $findings/<target>/, the reports in $work/logs/<target>.log" >&2
  echo "fuzz.sh: fix the reader, then copy each input into tests/fuzz/regressions/<target>/ (the test suite replays them)" >&2
  exit 1
fi
echo "fuzz.sh: no findings ($((SECONDS - t0)) s)" >&2
