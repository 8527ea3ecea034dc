#!/usr/bin/env bash
# `pip install --no-build-isolation .` into a fresh virtual environment that sees the system's packages (Debian's
# torch, numpy, pytest, scikit-build-core), then the Python test suite against the installed package, from outside
# the source tree, and the installed `smoothlab` program. Offline (--no-index): everything comes from the system.
# Usage: scripts/pip_check.sh [VENV_DIR]   (default: a temporary folder, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=${1:-}
if [ -z "$venv" ]; then venv=$(mktemp -d); trap 'rm -rf "$venv"' EXIT; fi
python3 -m venv --system-site-packages "$venv"
t0=$SECONDS
"$venv/bin/pip" install -q --no-build-isolation --no-index "$repo"
echo "pip_check.sh: pip install --no-build-isolation . in $((SECONDS - t0)) s" >&2
cd "$venv"
where=$("$venv/bin/python" -c 'import smoothlab; print(smoothlab.__file__)')
case $where in
  "$venv"/*) echo "pip_check.sh: import smoothlab -> $where" >&2 ;;
  *) echo "error: pip_check.sh: import smoothlab found $where, not the package installed in $venv" >&2; exit 1 ;;
esac
"$venv/bin/smoothlab" --version
# The suite against the installed package: no PYTHONPATH, no build folder (SMOOTHLAB_BUILD_DIR points nowhere).
SMOOTHLAB_BUILD_DIR=/nonexistent "$venv/bin/python" -m pytest -q -p no:cacheprovider "$repo/python/tests"
