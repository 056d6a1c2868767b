"""Shared by every test folder: ``tests/`` on ``sys.path``, so the helper
modules here (``tiny_shapes``: the demo detector on a generated shapes
dataset; ``checkpoint_server``: checkpoints served over local HTTP) import
by name from ``tests/test_ops/``, ``tests/test_tools/`` and the rest, as
they do from ``tests/`` itself, under any pytest import mode."""
import sys
from pathlib import Path

TESTS = str(Path(__file__).parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
