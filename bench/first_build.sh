#!/usr/bin/env bash
# The README's two commands timed as a new user meets them: each in a fresh clone of REPO with an empty ccache
# (the Debian packages must already be installed; their install time is measured separately). Prints one line a step.
# Usage: bench/first_build.sh [REPO]   (default: this repository)
set -u
repo=$(cd "${1:-$(dirname "$0")/..}" && git rev-parse --show-toplevel) || exit 2
work=$(mktemp -d)
git clone -q "$repo" "$work/a" && git clone -q "$repo" "$work/b" || exit 2
step() {  # name, command...
  local name=$1; shift; local t0=$SECONDS
  "$@" >"$work/$name.log" 2>&1; local rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s (log: $work/$name.log)"
}
cd "$work/a" && export CCACHE_DIR="$work/ccache-a"
step main-build bash scripts/setup.sh build main
step main-rest bash scripts/main.sh   # up-to-date check + smoothlab study --preset quick
cd "$work/b" && export CCACHE_DIR="$work/ccache-b"
step test-build bash scripts/setup.sh build all
step test-rest bash scripts/test.sh   # up-to-date check + the suite + the AVX2 pass
grep -hE "tests passed|Total Test time" "$work/test-rest.log"
