"""Every tool loads checkpoints through mmgmconv's loading policy: a pickle
payload served over HTTP never runs, and NaN/inf weights stop the tool with
an error naming the tensors and the file (tests/test_checkpoint_loading.py
tests the policy itself)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from checkpoint_server import NO_PROXY, save_payload_checkpoint, start_server
from mmgmconv import SGMConv
from mmgmconv.apis import build_model_from_config
from tiny_shapes import write_tiny_shapes_config

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """The tiny detector config, an image, a served folder, the
    environment of the tool runs (TORCH_HOME inside the temporary folder),
    and a checkpoint of the tiny detector with NaN and inf in it."""
    tmp = tmp_path_factory.mktemp('tools')
    config = write_tiny_shapes_config(tmp, num_train=2, num_val=2)
    image = sorted((tmp / 'shapes/val').glob('*.png'))[0]
    torch.manual_seed(0)
    model = build_model_from_config(config)
    state = model.state_dict()
    sigma = next(f'{name}.sigma' for name, m in model.named_modules()
                 if isinstance(m, SGMConv) and m.sigma is not None)
    state[sigma].fill_(float('nan'))
    state['neck.fpn_convs.0.conv.weight'][0, 0, 0, 0] = float('inf')
    nan_ckpt = tmp / 'diverged.pth'
    torch.save(dict(meta=dict(epoch=1, iter=2), state_dict=state), nan_ckpt)
    (tmp / 'served').mkdir()
    server = start_server(tmp / 'served')
    env = dict(os.environ, TORCH_HOME=str(tmp / 'torch_home'), **NO_PROXY)
    yield dict(tmp=tmp, config=config, image=image, server=server, env=env,
               nan_ckpt=nan_ckpt, nan_keys=(sigma,
                                            'neck.fpn_convs.0.conv.weight'))
    server.stop()


def tool_command(tool, config, checkpoint, image, out):
    """The command line that has ``tool`` load ``checkpoint``."""
    return {
        'test': ['tools/test.py', config, checkpoint, '--work-dir', out],
        'image_demo': ['tools/image_demo.py', image, config, '--weights',
                       checkpoint, '--out-dir', out],
        'fuse_gmconv': ['tools/fuse_gmconv.py', config, checkpoint,
                        out / 'fused.pth'],
        'export_onnx': ['tools/deploy/export_onnx.py', config, checkpoint,
                        out / 'model.onnx', '--shape', '64', '64'],
        'vis_rf_masks': ['tools/analysis/vis_rf_masks.py', config,
                         checkpoint, '--out-dir', out],
        'vis_erf': ['tools/analysis/vis_erf.py', config, checkpoint,
                    '--images', image.parent, '--out', out / 'erf.png'],
        'train_resume': ['tools/train.py', config, '--resume', checkpoint,
                         '--work-dir', out],
        'train_load_from': ['tools/train.py', config, '--work-dir', out,
                            '--cfg-options', f'load_from={checkpoint}'],
    }[tool]


def run_tool(setup, tool, checkpoint):
    out = setup['tmp'] / f'out-{tool}-{Path(str(checkpoint)).stem}'
    command = tool_command(tool, setup['config'], checkpoint,
                           setup['image'], out)
    return subprocess.run([sys.executable, *map(str, command)], cwd=ROOT,
                          env=setup['env'], capture_output=True, text=True,
                          timeout=900)


@pytest.mark.parametrize(
    'tool', ['test', 'image_demo', 'fuse_gmconv', 'train_resume'])
def test_payload_served_over_http_never_runs(setup, tool):
    marker = setup['tmp'] / f'payload-ran-{tool}'
    save_payload_checkpoint(setup['server'].root / f'evil-{tool}.pth', marker)
    url = f'{setup["server"].url}/evil-{tool}.pth'
    proc = run_tool(setup, tool, url)
    assert not marker.exists(), 'the payload ran'
    assert proc.returncode != 0
    assert (f'UnsafeCheckpointError: refusing to load checkpoint {url}'
            in proc.stderr), proc.stderr[-3000:]


@pytest.mark.parametrize('tool', [
    'test', 'image_demo', 'fuse_gmconv', 'export_onnx', 'vis_rf_masks',
    'vis_erf', 'train_resume', 'train_load_from'
])
def test_non_finite_checkpoint_stops_every_tool(setup, tool):
    if tool == 'export_onnx':
        pytest.importorskip('onnx')
    proc = run_tool(setup, tool, setup['nan_ckpt'])
    assert proc.returncode != 0
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith('mmgmconv.checkpoint_safety.NonFinite'
                            'CheckpointError: checkpoint '
                            f'{setup["nan_ckpt"]} holds NaN or inf in 2 '
                            'tensor(s)'), proc.stderr[-3000:]
    for key in setup['nan_keys']:
        assert key in error
