#!/usr/bin/env bash
# Installs what is needed, builds ark, and runs the demo (scripts/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
export PYTHONPATH="$PWD/python:$PWD/build/python${PYTHONPATH:+:$PYTHONPATH}"
export ARK_BIN="$PWD/build/ark"
exec /usr/bin/python3 scripts/demo.py
