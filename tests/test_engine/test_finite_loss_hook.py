"""A non-finite training loss stops the run, naming the iteration."""
import os
from pathlib import Path

import pytest
from mmengine.config import Config

from mmgmconv.engine import StopOnNonFiniteLossHook, StuckSigmaHook
from tool_helpers import run_tool

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'

# The digits demo cut to 2 iterations of 4 images, checkpoint every epoch.
# lr = inf: the first step makes the weights inf/NaN, the second
# iteration's loss is NaN. GMConv off here: with it, the NaN sigmas already
# stop the second forward (test_nan_sigma_stops_a_gmconv_run below).
TINY_CFG = """
_base_ = '{digits}'
model = dict(backbone=dict(gmconv_stages=(False, ) * 4))
train_dataloader = dict(batch_size=4, dataset=dict(indices=8))
train_cfg = dict(max_epochs=2, val_interval=100)
val_dataloader = None
val_cfg = None
val_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=float('inf')))
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
{hooks}
"""


def train_diverging(tmp_path, config_text):
    """Train ``config_text`` with tools/train.py in one thread: (config
    path, work dir, the finished process)."""
    cfg = tmp_path / 'diverging.py'
    cfg.write_text(config_text)
    work = tmp_path / 'work'
    proc = run_tool('tools/train.py', cfg, '--work-dir', work,
                    env=dict(os.environ, OMP_NUM_THREADS='1'))
    return cfg, work, proc


@pytest.mark.parametrize('hooks', [
    '',  # the hook from configs/_base_/gmconv_imports.py
    # a config's own custom_hooks replace that list: tools/train.py adds it
    "custom_hooks = [dict(type='SigmaLoggerHook')]",
    "custom_hooks = _base_.custom_hooks + [dict(type='SigmaLoggerHook')]",
], ids=['from_base', 'own_custom_hooks', 'extended_custom_hooks'])
def test_nan_loss_stops_training_naming_the_iteration(tmp_path, hooks):
    cfg, work, proc = train_diverging(
        tmp_path, TINY_CFG.format(digits=DIGITS, hooks=hooks))
    assert proc.returncode != 0
    assert ('FloatingPointError: non-finite training loss at iteration 2 '
            '(epoch 1, batch 2): loss=nan') in proc.stderr, \
        proc.stderr[-3000:]
    # the NaN weights were never saved
    assert not list(work.glob('*.pth'))
    if 'SigmaLoggerHook' in hooks:
        hook_types = [h['type'] for h in Config.fromfile(cfg).custom_hooks]
        log = next(work.glob('*/*.log')).read_text()
        added = 'added StopOnNonFiniteLossHook' in log
        assert added == (StopOnNonFiniteLossHook.__name__ not in hook_types)


def test_every_config_has_the_hook():
    """And StuckSigmaHook, from the same custom_hooks list (one load of
    every config for both)."""
    configs = [p for p in (ROOT / 'configs').rglob('*.py')
               if '_base_' not in p.parts]
    assert len(configs) > 50
    for path in configs:
        hooks = [h['type']
                 for h in Config.fromfile(path).get('custom_hooks', [])]
        for hook in (StopOnNonFiniteLossHook, StuckSigmaHook):
            assert hooks.count(hook.__name__) == 1, (path, hook)


def test_nan_sigma_stops_a_gmconv_run(tmp_path):
    """With GMConv on, the diverged step's NaN sigmas stop the next forward
    (gaussian_mask's check), before any checkpoint is saved."""
    _, work, proc = train_diverging(
        tmp_path, TINY_CFG.format(digits=DIGITS, hooks='').replace(
            "model = dict(backbone=dict(gmconv_stages=(False, ) * 4))\n", ''))
    assert proc.returncode != 0
    assert 'must be finite, got a NaN or inf sigma' in proc.stderr, \
        proc.stderr[-3000:]
    assert not list(work.glob('*.pth'))
