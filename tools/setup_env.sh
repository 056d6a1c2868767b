#!/usr/bin/env bash
# Create (or update) the virtual environment with the pinned stack and
# mmgmconv installed in editable mode. Idempotent.
#
# mmcv 2.1.0 has no wheel for torch 2.14: a prebuilt one is taken from
# $MMCV_WHEEL_DIR (default ../shared/wheels) when there, otherwise it is built
# from the PyPI source with compiled CPU ops (about 20 minutes on 2 cores) and
# cached in .cache/wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
MMCV_WHEEL_DIR=${MMCV_WHEEL_DIR:-../shared/wheels}
CACHE=.cache/wheels

if [ ! -x "$VENV/bin/python" ]; then
  PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: Python 3.11 is required, $PYTHON is $("$PYTHON" --version)" >&2
    exit 1
  fi
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
pip() { "$PY" -m pip --disable-pip-version-check -q "$@"; }

pip install "pip<26" wheel ninja "setuptools>=77.0.3,<82" \
  torch==2.14.1 torchvision==0.29.1

if ! "$PY" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
  wheel=$(ls "$MMCV_WHEEL_DIR"/mmcv-2.1.0-cp311-*.whl "$CACHE"/mmcv-2.1.0-cp311-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    echo "Building mmcv 2.1.0 with ops from source (about 20 minutes)..."
    build=$(mktemp -d)
    pip download --no-deps --no-binary :all: --no-build-isolation -d "$build" mmcv==2.1.0
    tar xzf "$build"/mmcv-2.1.0.tar.gz -C "$build"
    # torch 2.14 headers need C++20 (upstream mmcv issue 3341)
    sed -i "s/-std=c++17/-std=c++20/g; s/'-std=c++14'/'-std=c++20'/g" "$build/mmcv-2.1.0/setup.py"
    mkdir -p "$CACHE"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} \
      "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$CACHE" "$build/mmcv-2.1.0"
    rm -rf "$build"
    wheel=$(ls "$CACHE"/mmcv-2.1.0-cp311-*.whl | head -1)
  fi
  pip install "$wheel"
fi

pip install --no-build-isolation -e ".[tests]"
"$PY" -c 'import mmcv.ops, mmdet, mmpretrain, mmgmconv; print("mmgmconv environment ready:", mmcv.__version__, mmdet.__version__, mmpretrain.__version__)'
