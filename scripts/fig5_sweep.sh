#!/usr/bin/env bash
# The paper's Fig. 5 ([M] §4): student accuracy against the teacher's equivalent smoothing γ, with seeds.
#
#   1. teachers trained with label smoothing ε ∈ TEACHER_EPS (ε = 0 is the "hard" teacher)
#   2. students trained directly with ε                     → x = ε
#   3. students distilled from each LS teacher (ε > 0) at T = 1 → x = γ of that teacher at T = 1
#   4. students distilled from the hard teacher at T ∈ TEMPS → x = γ of the hard teacher at T
#   (distillation in the paper's form: β = 1, student at temperature 1: loss = H(softmax(z_t/T), softmax(z_s)))
#
# Every run is resumable (--resume): rerunning the script continues where it stopped. At the end every student is
# evaluated (smoothlab eval) and OUT/fig5.json collects one point per student
#   {"kind": "direct"|"ls_teacher"|"hard_teacher", "eps", "temperature", "seed", "gamma", "test_accuracy", "test_ece",
#    "teacher_test_accuracy"}
# plus "summary": min / mean / max test accuracy over seeds for each (kind, eps, T).
#
# Settings (environment): the defaults are the paper's grid at Fashion-MNIST scale; shrink them for a smoke run, e.g.
#   SEEDS="0" TEACHER_EPS="0 0.1" TEMPS="1 4" TEACHER_EPOCHS=2 STUDENT_EPOCHS=2 \
#     EXTRA="--limit-train 20000 --threads 1" scripts/fig5_sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SMOOTHLAB=${SMOOTHLAB:-build/smoothlab}
OUT=${OUT:-runs/fig5}
SEEDS=${SEEDS:-"0 1 2 3 4"}
TEACHER_MODEL=${TEACHER_MODEL:-resnet20}
STUDENT_MODEL=${STUDENT_MODEL:-cnn}
TEACHER_EPS=${TEACHER_EPS:-"0 0.15 0.3 0.45 0.6 0.75"}
TEMPS=${TEMPS:-"1 2 3 4 8 12 16"}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-10}
STUDENT_EPOCHS=${STUDENT_EPOCHS:-5}
EXTRA=${EXTRA:-}
DRY_RUN=${DRY_RUN:-0}

run() {
  echo "+ $*" >&2
  [ "$DRY_RUN" = 1 ] || "$@"
}
# shellcheck disable=SC2086  # EXTRA is a list of options
train() { run "$SMOOTHLAB" train $EXTRA --resume "$@"; }
# shellcheck disable=SC2086
distill() { run "$SMOOTHLAB" distill $EXTRA --resume "$@"; }

mkdir -p "$OUT"
for eps in $TEACHER_EPS; do
  train --model "$TEACHER_MODEL" --epochs "$TEACHER_EPOCHS" --smoothing "$eps" --seed 0 --out "$OUT/teacher_eps$eps"
done
hard_teacher="$OUT/teacher_eps$(set -- $TEACHER_EPS; echo "$1")"
for seed in $SEEDS; do
  for eps in $TEACHER_EPS; do
    train --model "$STUDENT_MODEL" --epochs "$STUDENT_EPOCHS" --smoothing "$eps" --seed "$seed" \
      --out "$OUT/direct_eps${eps}_seed$seed"
    # the hard teacher at T = 1 is one of the hard_teacher points below
    [ "$OUT/teacher_eps$eps" = "$hard_teacher" ] && continue
    distill --teacher "$OUT/teacher_eps$eps" --temperature 1 --model "$STUDENT_MODEL" --epochs "$STUDENT_EPOCHS" \
      --seed "$seed" --out "$OUT/ls_teacher_eps${eps}_seed$seed"
  done
  for T in $TEMPS; do
    distill --teacher "$hard_teacher" --temperature "$T" --model "$STUDENT_MODEL" --epochs "$STUDENT_EPOCHS" \
      --seed "$seed" --out "$OUT/hard_teacher_T${T}_seed$seed"
  done
done
[ "$DRY_RUN" = 1 ] && exit 0

# Evaluate every run once (eval.json), then collect the points.
for dir in "$OUT"/*/; do
  dir=${dir%/}
  [ -f "$dir/eval.json" ] || "$SMOOTHLAB" eval "$dir" --threads "${EVAL_THREADS:-0}" >/dev/null
done
points=()
for dir in "$OUT"/direct_* "$OUT"/ls_teacher_* "$OUT"/hard_teacher_*; do
  [ -f "$dir/eval.json" ] || continue
  name=$(basename "$dir")
  case $name in direct_*) kind=direct ;; ls_teacher_*) kind=ls_teacher ;; *) kind=hard_teacher ;; esac
  teacher_acc=null
  if [ "$kind" != direct ]; then
    teacher=$(jq -r '.distill.teacher' "$dir/config.json")
    [ -f "$teacher/eval.json" ] && teacher_acc=$(jq '.test.accuracy' "$teacher/eval.json")
  fi
  points+=("$(jq -c --arg kind "$kind" --argjson teacher_acc "$teacher_acc" --slurpfile e "$dir/eval.json" '
    {kind: $kind, run: input_filename, seed: .config.seed,
     eps: (if $kind == "direct" then .config.smoothing else .distill.teacher_run.smoothing end),
     temperature: (if $kind == "direct" then null else .distill.temperature end),
     gamma: (if $kind == "direct" then .config.smoothing else .distill.teacher_gamma end),
     test_accuracy: $e[0].test.accuracy, test_ece: $e[0].test.ece, teacher_test_accuracy: $teacher_acc}' \
    "$dir/config.json")")
done
printf '%s\n' "${points[@]}" | jq -s '{points: ., summary: (group_by([.kind, .eps, .temperature]) | map({
    kind: .[0].kind, eps: .[0].eps, temperature: .[0].temperature, gamma: (map(.gamma) | add / length),
    seeds: length, accuracy_min: (map(.test_accuracy) | min), accuracy_mean: (map(.test_accuracy) | add / length),
    accuracy_max: (map(.test_accuracy) | max)}))}' > "$OUT/fig5.json.tmp"
mv "$OUT/fig5.json.tmp" "$OUT/fig5.json"
jq -r '.summary[] | "\(.kind)\teps \(.eps)\tT \(.temperature)\tγ \(.gamma * 1000 | round / 1000)\tacc \(.accuracy_mean * 10000 | round / 10000) [\(.accuracy_min), \(.accuracy_max)] (\(.seeds) seeds)"' "$OUT/fig5.json"
echo "wrote $OUT/fig5.json" >&2
