"""Checkpoints written on one tested stack load on the other.

``make test-compat`` runs this on the torch 2.1 stack with
``MMGMCONV_OTHER_STACK_PYTHON`` set to the pinned stack's python: each side
writes an mmengine training checkpoint of a GMConv detector backbone
(S-GMConv and D-GMConv weights, SGD state, message hub, numpy meta) and the
other side loads it the way the tools do (``load_checkpoint`` with the
torch's default ``weights_only``, i.e. ``True`` on torch >= 2.6 through
mmgmconv's allow-list) and checks the outputs on the saved probe input.
Run as a script: ``python tests/test_cross_stack_checkpoints.py
write|read PATH``.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

#: The paper's GMConv (configs/_base_/models/gmresnet_gmconv.py, its
#: default arguments): the GMConv ResNets have no default of their own.
PAPER_GMCONV_CFG = dict(
    stem=dict(type='DGMConv', pred_pattern='sigma1_ratio', sigma_init=5.0),
    body=dict(type='SGMConv', sigma_init=5.0))

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OTHER = os.environ.get('MMGMCONV_OTHER_STACK_PYTHON')


def build_model():
    from mmdet.registry import MODELS

    import mmgmconv.toolboxes.mmdet  # noqa: F401  (registers GMResNet)
    from mmgmconv.checkpoint_safety import install_checkpoint_policy

    # checkpoints read as the project's tools read them
    install_checkpoint_policy()
    model = MODELS.build(dict(
        type='GMResNet', depth=18, base_channels=8, stem_channels=8,
        gmconv_cfg=PAPER_GMCONV_CFG,
        gmconv_stages=(True, True, False, False, False)))
    model.eval()  # mmdet's ResNet.train() returns None
    return model


def write(path):
    import numpy as np
    import torch
    from mmengine.logging import MessageHub
    from mmengine.runner.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    sum(o.sum() for o in model(torch.randn(2, 3, 32, 32))).backward()
    optimizer.step()
    model.eval()
    probe = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        outputs = [o.clone() for o in model(probe)]
    hub = MessageHub.get_instance('cross-stack')
    hub.update_scalar('train/loss', np.float64(0.25))
    save_checkpoint(
        dict(meta=dict(epoch=1, seed=np.int64(7), torch=str(torch.__version__),
                       probe=probe, outputs=outputs),
             state_dict=model.state_dict(),
             optimizer=optimizer.state_dict(),
             message_hub=hub.state_dict()), str(path))


def read(path):
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

    model = build_model()
    ckpt = load_checkpoint(model, str(path), strict=True)
    assert ckpt['meta']['seed'] == 7
    assert ckpt['message_hub']['log_scalars']['train/loss'].min() == 0.25
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer.load_state_dict(ckpt['optimizer'])
    with torch.no_grad():
        outputs = model(ckpt['meta']['probe'])
    for got, saved in zip(outputs, ckpt['meta']['outputs']):
        torch.testing.assert_close(got, saved, rtol=1e-4, atol=1e-5)
    # what tools/test.py and --resume see: the same dict again
    assert (_load_checkpoint(str(path))['meta']['torch'] ==
            ckpt['meta']['torch'])
    print('read', path, 'written by torch', ckpt['meta']['torch'],
          'on torch', torch.__version__)


def run_other(command, path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([OTHER, __file__, command, str(path)], env=env,
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]


def skip_if_reader_numpy_cannot_read(writer_numpy, reader_numpy):
    """numpy >= 2 pickles name ``numpy._core``, which numpy has from 1.26.1
    on (Python >= 3.9): Python 3.8's last numpy, 1.24.4, cannot read them."""
    if (Version(writer_numpy) >= Version('2')
            and Version(reader_numpy) < Version('1.26.1')):
        pytest.skip(f'numpy {reader_numpy} cannot unpickle the numpy '
                    f'{writer_numpy} objects of the checkpoint: they name '
                    'numpy._core (numpy >= 1.26.1, Python >= 3.9)')


@pytest.mark.skipif(not OTHER, reason='run by make test-compat, which sets '
                    'MMGMCONV_OTHER_STACK_PYTHON to the other stack')
@pytest.mark.parametrize('direction', ['this_to_other', 'other_to_this'])
def test_checkpoint_loads_on_the_other_stack(tmp_path, direction):
    path = tmp_path / 'epoch_1.pth'
    import numpy as np
    this_numpy = np.__version__
    other_numpy = subprocess.run(
        [OTHER, '-c', 'import numpy; print(numpy.__version__)'],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    if direction == 'this_to_other':
        skip_if_reader_numpy_cannot_read(this_numpy, other_numpy)
        write(path)
        run_other('read', path)
    else:
        skip_if_reader_numpy_cannot_read(other_numpy, this_numpy)
        run_other('write', path)
        read(path)


if __name__ == '__main__':
    {'write': write, 'read': read}[sys.argv[1]](Path(sys.argv[2]))
