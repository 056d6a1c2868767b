"""SigmaLoggerHook: the sigma logged for iteration t is the one after t."""
import json
import re

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import TensorDataset

from mmgmconv.engine import SigmaLoggerHook
from mmgmconv.ops import DGMConv, SGMConv


class TinyGMConvNet(BaseModel):
    """A D-GMConv and an S-GMConv; the second's name matches 'time'."""

    def __init__(self):
        super().__init__()
        self.stem = DGMConv(3, 4, 3, padding=1, sigma_init=1.0)
        self.time_conv = SGMConv(4, 1, 3, padding=1, sigma_init=1.0)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.time_conv(self.stem(inputs)).mean(dim=(1, 2, 3))
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class RecordSigmas(Hook):
    """What the model holds after each iteration, read independently."""
    priority = 'LOWEST'

    def __init__(self):
        self.after = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model
        stem = model.stem.last_sigmas.mean(dim=0)
        self.after[runner.iter + 1] = {
            'sigma/time_conv': model.time_conv.sigma.abs().item(),
            'sigma1/stem': stem[0].item(),
            'sigma2/stem': stem[1].item(),
        }


def test_logged_sigma_is_the_sigma_after_that_iteration(tmp_path):
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(14, 3, 6, 6), torch.randn(14))
    recorder = RecordSigmas()
    runner = Runner(
        model=TinyGMConvNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            batch_size=2,  # 7 iterations per epoch
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        # decay moves the S-GMConv sigma at every step, data or not
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, weight_decay=0.5)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=3, ignore_last=False),
            checkpoint=None),
        custom_hooks=[SigmaLoggerHook(), recorder],
        # a mean_pattern that matches 'sigma/time_conv': the hook must
        # still get its current value logged, not a window mean
        log_processor=dict(window_size=10, mean_pattern=r'.*(loss|time).*'),
        visualizer=dict(type='Visualizer',
                        vis_backends=[dict(type='LocalVisBackend')]),
        randomness=dict(seed=0))
    runner.train()

    scalars = [
        json.loads(line) for line in next(
            tmp_path.glob('*/vis_data/scalars.json')).read_text().splitlines()
    ]
    logged = {s['step']: s for s in scalars if 'sigma/time_conv' in s}
    # logs at iterations 3, 6 and 7 (end of epoch) of each of 3 epochs
    assert sorted(logged) == [3, 6, 7, 10, 13, 14, 17, 20, 21]
    for step, row in logged.items():
        for key, value in recorder.after[step].items():
            assert abs(row[key] - value) < 1e-6 * max(1, abs(value)), (
                step, key, row[key], value)
    # the sigmas did move between logging events, so the check has teeth
    moved = [recorder.after[s]['sigma/time_conv'] for s in sorted(logged)]
    assert len(set(round(v, 4) for v in moved)) == len(moved)

    # the text log prints the same values (4 decimals)
    log = next(tmp_path.glob('*/*.log')).read_text()
    printed = [float(v) for v in re.findall(r'sigma/time_conv: (\S+)', log)]
    assert len(printed) == len(logged)
    for step, value in zip(sorted(logged), printed):
        assert abs(value - recorder.after[step]['sigma/time_conv']) < 1e-4

    # and a line of the hook's own gives them to float32's precision, with
    # the change since the start (the S-GMConv sigma started at 1.0)
    precise = re.findall(r'sigma/time_conv (\S+) \((\S+)\)', log)
    assert len(precise) == len(logged)
    for step, (value, change) in zip(sorted(logged), precise):
        after = recorder.after[step]['sigma/time_conv']
        assert abs(float(value) - after) <= 1e-7 * after
        assert float(change) == pytest.approx(after - 1.0, rel=1e-3)
    first_stem = re.search(r'sigma1/stem \S+ \((\S+)\)', log).group(1)
    assert first_stem != '+0.000e+00'  # D-GMConv: since iteration 1's mean
