#!/usr/bin/env bash
# Debian 13 (trixie) roots for the platform matrix's legs, made with debootstrap and cached outside the clone.
#
#   scripts/root.sh path LEG          make LEG's root if it is not cached (or its package list changed); print its path
#   scripts/root.sh run LEG CMD...    run CMD in LEG's root, in this clone (bind-mounted at /src), as root
#
# LEG: cpu (LibTorch 2.6, the whole suite runs there) or cuda (the CUDA LibTorch 2.6, nvcc 12.4, NCCL: compile and
# link only). Roots live in $SMOOTHLAB_ROOT_CACHE (default /var/cache/smoothlab/roots): a minbase trixie made once
# (about a minute), copied and given each leg's packages (scripts/packages.sh), under a name with the hash of that
# list, so a root is reused while its list is unchanged and made anew (the old one removed) when it changes. Each run
# has its own mount namespace: /proc, /dev, /dev/shm and /src vanish with it, even when it is killed. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=scripts/packages.sh
source "$here/packages.sh"
CACHE=${SMOOTHLAB_ROOT_CACHE:-/var/cache/smoothlab/roots}
MIRROR=${SMOOTHLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie

die() { echo "error: scripts/root.sh: $*" >&2; exit 2; }
log() { echo "root.sh: $*" >&2; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mounts)"

leg_packages() {
  case $1 in
    cpu) echo "${MAIN_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${PIP_PACKAGES[@]}" ;;
    cuda) echo "${CUDA_PACKAGES[@]}" ;;
    *) die "unknown leg '$1' (known: cpu, cuda)" ;;
  esac
}

# Runs "$@" inside ROOT with /proc, /dev, /dev/shm and (when SRC is set) SRC at /src, in a private mount namespace.
in_root() { # ROOT SRC CMD...
  local root=$1 src=$2; shift 2
  # shellcheck disable=SC2016  # the inner script expands its own arguments
  unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1 src=$2; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o size=4g tmpfs "$root/dev/shm"
    if [ -n "$src" ]; then mkdir -p "$root/src"; mount --bind "$src" "$root/src"; fi
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
  ' in_root "$root" "$src" "$@"
}

make_base() {
  local base=$CACHE/$SUITE-base
  [ -f "$base/.smoothlab-ready" ] && return 0
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
  rm -rf "$base" "$base.tmp"
  log "debootstrap --variant=minbase $SUITE (about a minute)"
  debootstrap --variant=minbase --components=main,contrib,non-free "$SUITE" "$base.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  cp /etc/hosts "$base.tmp/etc/hosts"
  touch "$base.tmp/.smoothlab-ready"
  mv "$base.tmp" "$base"
}

# cuDNN: libtorch-cuda depends on `nvidia-cudnn`, whose post-install downloads cuDNN from NVIDIA (unreachable here).
# Linking only needs libcudnn.so.9's symbols to resolve, so the cuda leg installs a stand-in package of that name
# and a stub libcudnn.so.9 defining every cudnn* symbol that LibTorch's libraries import. Nothing runs against it.
cudnn_standin_deb() { # OUT_DIR -> prints the .deb's path
  local d=$1/nvidia-cudnn-standin
  mkdir -p "$d/DEBIAN"
  cat >"$d/DEBIAN/control" <<'CONTROL'
Package: nvidia-cudnn
Version: 9.0.0.312~smoothlab.standin1
Architecture: amd64
Maintainer: smoothlab CI <ci@localhost>
Description: stand-in for nvidia-cudnn in smoothlab's compile-and-link CUDA root
 A stub libcudnn.so.9 is built after installation; nothing runs against it.
CONTROL
  dpkg-deb --build "$d" "$1/nvidia-cudnn-standin.deb" >/dev/null
  echo "$1/nvidia-cudnn-standin.deb"
}

cudnn_stub() { # ROOT
  local root=$1 libs
  mapfile -t libs < <(find "$root/usr/lib" -name 'libtorch*.so*' -type f)
  [ ${#libs[@]} -gt 0 ] || die "no libtorch*.so in the cuda root"
  # LibTorch's libraries import them versioned (cudnnCreate@libcudnn.so.9): the stub defines them under that node.
  nm -D --undefined-only "${libs[@]}" | awk '{print $NF}' | grep -E '^cudnn' | sed 's/@.*//' | sort -u |
    awk '{printf "void %s(void) {}\n", $1}' >"$root/tmp/cudnn_stub.c"
  echo 'libcudnn.so.9 { global: *; };' >"$root/tmp/cudnn_stub.map"
  in_root "$root" "" gcc -shared -fPIC -Wl,-soname,libcudnn.so.9 -Wl,--version-script=/tmp/cudnn_stub.map \
    -o /usr/local/lib/libcudnn.so.9 /tmp/cudnn_stub.c
  ln -sf libcudnn.so.9 "$root/usr/local/lib/libcudnn.so"
  in_root "$root" "" ldconfig
  log "stub libcudnn.so.9 with $(wc -l <"$root/tmp/cudnn_stub.c") symbols"
}

make_leg() { # LEG -> prints the root's path
  local leg=$1 packages key root
  packages=$(leg_packages "$leg")
  key=$( (echo "$SUITE $MIRROR $packages"; sed -n '/^cudnn_/,/^}/p' "$0") | sha256sum | cut -c1-12)
  root=$CACHE/$SUITE-$leg-$key
  if [ ! -f "$root/.smoothlab-ready" ]; then
    mkdir -p "$CACHE"
    make_base
    rm -rf "$root" "$root.tmp"
    for old in "$CACHE/$SUITE-$leg-"*; do [ -e "$old" ] && { log "removing $old (another package list)"; rm -rf "$old"; }; done
    cp -a "$CACHE/$SUITE-base" "$root.tmp"
    rm -f "$root.tmp/.smoothlab-ready"
    log "installing the $leg leg's packages into $root"
    # shellcheck disable=SC2086  # a list of package names
    {
      in_root "$root.tmp" "" apt-get update -q
      if [ "$leg" = cuda ]; then
        cp "$(cudnn_standin_deb "$root.tmp/tmp")" "$root.tmp/tmp/standin.deb"
        in_root "$root.tmp" "" dpkg -i /tmp/standin.deb
      fi
      in_root "$root.tmp" "" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages
      in_root "$root.tmp" "" apt-get clean
    } >"$CACHE/$SUITE-$leg.log" 2>&1 || { tail -n 30 "$CACHE/$SUITE-$leg.log" >&2; die "installing the $leg leg's packages failed (log: $CACHE/$SUITE-$leg.log)"; }
    [ "$leg" = cuda ] && cudnn_stub "$root.tmp"
    touch "$root.tmp/.smoothlab-ready"
    mv "$root.tmp" "$root"
  fi
  echo "$root"
}

case ${1:-} in
  path) [ $# = 2 ] || die "usage: scripts/root.sh path LEG"; make_leg "$2" ;;
  run) [ $# -ge 3 ] || die "usage: scripts/root.sh run LEG CMD..."; leg=$2; shift 2
    root=$(make_leg "$leg"); in_root "$root" "$repo" "$@" ;;
  *) die "usage: scripts/root.sh path LEG | run LEG CMD...   (LEG: cpu, cuda)" ;;
esac
