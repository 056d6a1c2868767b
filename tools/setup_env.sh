#!/usr/bin/env bash
# Create (or update) a virtual environment with a tested stack and mmgmconv
# installed in editable mode. Idempotent.
#
#   STACK=pinned (default, VENV=.venv): requirements/pinned.txt, torch 2.14.1,
#     every extra (mmdet, mmpretrain, mmseg, analysis, timm, deploy,
#     tensorboard, tests).
#   STACK=torch2.1 (VENV=.venv-compat, 'make test-compat'): the lower end,
#     requirements/torch2.1.txt (torch 2.1.2, numpy < 2) with the mmdet,
#     mmpretrain and tests extras.
#
# The stack's file is used as pip constraints: setup.py only says what the
# code needs (ranges), the file says what was tested. Both stacks are tested
# on Python 3.11 (the interpreter is $PYTHON, default python3.11); the
# torch2.1 stack also on Python 3.8 and 3.10, with
# requirements/torch2.1-py38.txt (numpy 1.24.4 and the other last releases
# for 3.8) and requirements/torch2.1-py310.txt:
#   PYTHON=python3.8 STACK=torch2.1 VENV=.venv-py38 tools/setup_env.sh
# An existing venv keeps its Python.
#
# mmcv 2.1.0 has no wheel for these torch builds on the package index: a
# prebuilt one for the venv's Python (cp311, cp310, cp38) is taken from
# $MMCV_WHEEL_DIR (default ../shared/wheels for pinned,
# ../shared/wheels/torch2.1 for torch2.1) when there, otherwise it is built
# from the PyPI source with compiled CPU ops (about 20 minutes on 2 cores)
# and cached in .cache/wheels/$STACK (the wheel's name carries its cp tag).
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${STACK:-pinned}
case "$STACK" in
  pinned)
    VENV=${VENV:-.venv}
    MMCV_WHEEL_DIR=${MMCV_WHEEL_DIR:-../shared/wheels}
    EXTRAS=all
    PYTHONS=3.11
    # torch 2.14 headers need C++20 (upstream mmcv issue 3341)
    MMCV_CXX_STD=c++20 ;;
  torch2.1)
    VENV=${VENV:-.venv-compat}
    MMCV_WHEEL_DIR=${MMCV_WHEEL_DIR:-../shared/wheels/torch2.1}
    EXTRAS=mmdet,mmpretrain,tests
    PYTHONS="3.11 3.10 3.8"  # of torch 2.1.2's 3.8-3.11
    MMCV_CXX_STD= ;;  # mmcv's own C++17 is right for torch 2.1
  *)
    echo "error: STACK=$STACK; allowed: pinned, torch2.1" >&2
    exit 1 ;;
esac
CACHE=.cache/wheels/$STACK

if [ -x "$VENV/bin/python" ]; then
  PYTHON=$VENV/bin/python
else
  PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
fi
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case " $PYTHONS " in
  *" $PYVER "*) ;;
  *)
    echo "error: $PYTHON is Python $PYVER; STACK=$STACK is tested on Python $PYTHONS" >&2
    exit 1 ;;
esac
CPTAG=cp${PYVER/./}
if [ "$PYVER" = 3.11 ]; then
  CONSTRAINTS=requirements/$STACK.txt
else  # requirements/torch2.1-py38.txt, requirements/torch2.1-py310.txt
  CONSTRAINTS=requirements/$STACK-py${PYVER/./}.txt
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
pip() { "$PY" -m pip --disable-pip-version-check -q "$@"; }

pip install -c "$CONSTRAINTS" "pip<26" wheel ninja setuptools torch torchvision

if ! "$PY" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
  wheel=$(ls "$MMCV_WHEEL_DIR/mmcv-2.1.0-$CPTAG-"*.whl "$CACHE/mmcv-2.1.0-$CPTAG-"*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    echo "Building mmcv 2.1.0 with ops from source (about 20 minutes)..."
    build=$(mktemp -d)
    pip download --no-deps --no-binary :all: --no-build-isolation -d "$build" mmcv==2.1.0
    tar xzf "$build"/mmcv-2.1.0.tar.gz -C "$build"
    if [ -n "$MMCV_CXX_STD" ]; then
      sed -i "s/-std=c++17/-std=$MMCV_CXX_STD/g; s/'-std=c++14'/'-std=$MMCV_CXX_STD'/g" \
        "$build/mmcv-2.1.0/setup.py"
    fi
    mkdir -p "$CACHE"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} \
      "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$CACHE" "$build/mmcv-2.1.0"
    rm -rf "$build"
    wheel=$(ls "$CACHE/mmcv-2.1.0-$CPTAG-"*.whl | head -1)
  fi
  pip install -c "$CONSTRAINTS" "$wheel"
fi

pip install -c "$CONSTRAINTS" --no-build-isolation -e ".[$EXTRAS]"
if [ "$STACK" = pinned ]; then
  # openmim, for 'mim search mmgmconv' and tests/test_mim_packaging.py,
  # without its dependency chain: openmim 0.3.9 -> opendatalab -> openxlab
  # pins setuptools~=60.2 and requests==2.28.2, which would downgrade this
  # stack. mim's code never imports opendatalab (only 'mim download' of
  # datasets runs it); the packages it does import are listed here.
  pip install -c "$CONSTRAINTS" --no-deps openmim colorama pandas tabulate \
    requests urllib3 charset-normalizer certifi
fi
"$PY" -c 'import torch, mmcv.ops, mmdet, mmpretrain, mmgmconv; print("mmgmconv environment ready: torch", torch.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmpretrain", mmpretrain.__version__)'
