"""Shared by every test folder: ``tests/`` on ``sys.path``, so the helper
modules here (``tiny_shapes``: the demo detector on a generated shapes
dataset; ``checkpoint_server``: checkpoints served over local HTTP;
``cpu_autocast``: the autocast dtypes this torch has on the CPU) import
by name from ``tests/test_ops/``, ``tests/test_tools/`` and the rest, as
they do from ``tests/`` itself, under any pytest import mode."""
import os
import sys
from pathlib import Path

TESTS = str(Path(__file__).parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

# Under pytest-xdist the workers share the cores: each gets its share of
# torch's and OpenMP's threads (unless OMP_NUM_THREADS is set), rather than
# every worker starting one thread per core. Set before torch is imported;
# subprocesses (tools/train.py, ...) inherit it.
if os.environ.get('PYTEST_XDIST_WORKER_COUNT') and \
        'OMP_NUM_THREADS' not in os.environ:
    os.environ['OMP_NUM_THREADS'] = str(max(
        1, (os.cpu_count() or 1) //
        int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))

# The tests run under the project's checkpoint policy, as the project's
# tools and configs do (install_checkpoint_policy; a plain `import mmgmconv`
# does not install it: tests/test_good_citizen.py checks that in a fresh
# interpreter).
from mmgmconv.checkpoint_safety import install_checkpoint_policy  # noqa: E402

install_checkpoint_policy()
