#!/usr/bin/env bash
# The platform matrix (docs/platforms.md), the command CI runs (.ci/run). Each leg from a fresh machine:
#   host  Debian 12, LibTorch 1.13 (CPU), the README's default: scripts/test.sh (the whole suite, then its AVX2 pass)
#   cpu   Debian 13, LibTorch 2.6 (CPU), in a debootstrapped root (scripts/root.sh): the whole suite (its AVX2 pass
#         runs on the host leg only), then `pip install --no-build-isolation .` into a virtual environment and the
#         Python suite against it
#   cuda  Debian 13, the CUDA LibTorch 2.6 with nvcc 12.4, NCCL and Gloo, in another root: every target compiled and
#         linked for sm_80 and sm_90 (scripts/build_cuda.sh); nothing runs (no GPU)
# The roots are cached in $SMOOTHLAB_ROOT_CACHE (default /var/cache/smoothlab/roots) while their package lists are
# unchanged; each leg builds in its own folder of this clone (build, build-trixie, build-cuda). Roots that are not
# cached yet are made in the background while the host leg runs (downloads and dpkg beside its compiles and tests).
# Usage: scripts/platforms.sh [LEG...]   (default: host cpu cuda). Every leg runs; the exit code is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
legs=("$@")
[ ${#legs[@]} -gt 0 ] || legs=(host cpu cuda)
for leg in "${legs[@]}"; do
  case $leg in host|cpu|cuda) ;; *) echo "error: scripts/platforms.sh: unknown leg '$leg' (known: host, cpu, cuda)" >&2; exit 2 ;; esac
done
passed=0 failed=0 summary=()
# The roots the legs need, made in one background job (root.sh makes the shared base first; one maker at a time)
# while the host leg runs; its output is shown when the first root leg starts. A failure there shows again, with
# root.sh's message, when that leg asks for its root.
roots_pid="" roots_log=""
if [[ " ${legs[*]} " == *" host "* ]]; then
  root_legs=()
  for leg in "${legs[@]}"; do [ "$leg" = host ] || root_legs+=("$leg"); done
  if [ ${#root_legs[@]} -gt 0 ]; then
    # debootstrap now, so that the host's apt-get runs one at a time (setup.sh's install would find dpkg locked).
    if ! command -v debootstrap >/dev/null; then
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
        echo "platforms.sh: installing debootstrap failed" >&2
    fi
    roots_log=$(mktemp)
    (for leg in "${root_legs[@]}"; do scripts/root.sh path "$leg" >/dev/null || exit $?; done) >"$roots_log" 2>&1 &
    roots_pid=$!
  fi
fi
wait_roots() {
  [ -n "$roots_pid" ] || return 0
  wait "$roots_pid" || echo "platforms.sh: making the roots in the background failed; the leg tries again" >&2
  cat "$roots_log" >&2
  rm -f "$roots_log"
  roots_pid=""
}
for leg in "${legs[@]}"; do
  [ "$leg" = host ] || wait_roots
  t0=$SECONDS
  echo "platforms.sh: leg $leg" >&2
  case $leg in
    host) scripts/test.sh ;;
    cpu) scripts/root.sh run cpu bash -c 'cd /src && SMOOTHLAB_SKIP_APT=1 SMOOTHLAB_SKIP_AVX2=1 \
      SMOOTHLAB_BUILD_DIR=build-trixie scripts/test.sh && scripts/pip_check.sh' ;;
    cuda) scripts/root.sh run cuda bash -c 'cd /src && scripts/build_cuda.sh build-cuda' ;;
  esac
  rc=$?
  if [ $rc = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  summary+=("  $leg: $([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - t0)) s")
done
echo "platforms.sh: the matrix"
printf '%s\n' "${summary[@]}"
echo "platforms: $passed passed, $failed failed"
[ "$failed" = 0 ]
