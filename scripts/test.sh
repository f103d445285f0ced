#!/usr/bin/env bash
# Installs, builds and runs every test:
#   1. C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   2. the same C++ tests, the CLI tests and the Python tests on the release build (build/)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build-asan -DARK_SANITIZE=ON -DARK_PYTHON=OFF -DARK_BENCH=OFF
(cd build-asan && ctest --output-on-failure -j"$(nproc)")

scripts/setup.sh build
(cd build && ctest --output-on-failure -j"$(nproc)")
echo "test.sh: all tests passed"
