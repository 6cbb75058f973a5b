#!/usr/bin/env bash
# Sets up a fresh virtual environment and runs the test suite: the one command CI runs too.
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -k layers  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SPECNORM_GAN_VENV:-.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
# The torch stack first, pinned: an unpinned torch pulled in by another package may fetch a
# multi-GB CUDA build. 2.14.1 + 0.29.1 is a working torch/torchvision pair.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.14.1" "torchvision==0.29.1"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
# torch-mimicry for the conversion parity tests: --no-deps (its pins would pull TensorFlow and an old torch).
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "torch-mimicry==0.1.16"
exec "$VENV/bin/python" -m pytest "$@"
