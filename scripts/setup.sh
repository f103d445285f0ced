#!/usr/bin/env bash
# Installs what ark needs on Debian 12 (when missing) and builds it.
#   scripts/setup.sh [build-dir] [extra cmake args...]
# Default build dir: build (release with debug info, Python module included).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git clang
  libzstd-dev zlib1g-dev liblzma-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev
  libsqlite3-dev libarchive-dev libbz2-dev
  libgtest-dev libgmock-dev libbenchmark-dev pybind11-dev python3-dev
  python3-numpy python3-scipy python3-sklearn python3-pandas python3-joblib
  python3-cloudpickle python3-pytest python3-matplotlib
  zstd xz-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR="${1:-build}"
shift || true
cmake -S . -B "$BUILD_DIR" -DPython_EXECUTABLE=/usr/bin/python3 "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
