"""Sigma curves in TensorBoard: SigmaLoggerHook + TensorboardVisBackend."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing import event_accumulator

from mmgmconv import DGMConv, SGMConv
from mmgmconv.apis import build_model_from_config

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'

# The README's recipe (the visualizer line), on 16 digits: 2 epochs of 2
# iterations, every iteration logged, a checkpoint after the last one.
CONFIG = """
_base_ = '{base}'
train_dataloader = dict(batch_size=8, dataset=dict(indices=16))
train_cfg = dict(max_epochs=2, val_interval=10)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
custom_hooks = [dict(type='SigmaLoggerHook')]
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
                                dict(type='TensorboardVisBackend')])
"""


def test_tensorboard_holds_one_sigma_curve_per_gmconv_layer(tmp_path):
    cfg = tmp_path / 'tb.py'
    cfg.write_text(CONFIG.format(base=DIGITS))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(cfg), '--work-dir',
         str(tmp_path / 'work')], cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = list((tmp_path / 'work').glob('*/vis_data/events.out.tfevents*'))
    assert len(events) == 1
    acc = event_accumulator.EventAccumulator(str(events[0].parent))
    acc.Reload()
    curves = {tag: acc.Scalars(tag) for tag in acc.Tags()['scalars']
              if tag.startswith('sigma')}

    model = build_model_from_config(DIGITS)
    static = [n for n, m in model.named_modules()
              if isinstance(m, SGMConv) and m.sigma is not None]
    dynamic = [n for n, m in model.named_modules() if isinstance(m, DGMConv)]
    assert static and dynamic
    assert set(curves) == {f'sigma/{n}' for n in static} | {
        f'sigma{i}/{n}' for n in dynamic for i in (1, 2)}
    for tag, points in curves.items():
        assert [p.step for p in points] == [1, 2, 3, 4], tag

    # the last point of each S-GMConv curve is the trained model's sigma
    state = torch.load(tmp_path / 'work/epoch_2.pth')['state_dict']
    for name in static:
        assert curves[f'sigma/{name}'][-1].value == pytest.approx(
            state[f'{name}.sigma'].abs().item(), rel=1e-6), name
    # and the curves moved: they follow training, not the initial value
    assert any(points[0].value != points[-1].value
               for points in curves.values())
