#!/usr/bin/env bash
# Installs every Debian package smoothlab needs (idempotent, non-interactive), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR]   (default: build). Set SMOOTHLAB_SKIP_APT=1 to skip apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
PACKAGES=(
  build-essential cmake ccache pkg-config git
  libtorch-dev libopenblas0-openmp zlib1g-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcairo2-dev libturbojpeg0-dev libpng-dev
  dataset-fashion-mnist
  python3-torch python3-numpy python3-pil python3-torchvision mate-backgrounds chromium
)
if [ "${SMOOTHLAB_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${SMOOTHLAB_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
