"""Stop training at the first non-finite loss."""
import math

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop


@HOOKS.register_module()
class StopOnNonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` at the first iteration whose loss is NaN
    or infinite, naming the iteration and the non-finite loss terms.

    mmengine trains on after such a loss: the optimizer step has made the
    weights NaN, every later iteration logs ``loss: nan`` and every later
    checkpoint holds NaN weights, and the run exits 0. mmdet's
    ``CheckInvalidLossHook`` looks only every ``interval`` (50) iterations,
    with an ``assert`` (skipped under ``python -O``) whose message names no
    iteration, and exists only with mmdet; this hook checks every iteration
    of any OpenMMLab model whose ``train_step`` returns mmengine's
    ``log_vars`` (every ``*loss*`` entry is checked). The values are
    already moved to the CPU every iteration by ``RuntimeInfoHook``.

    Priority ``VERY_HIGH``: it runs before the hooks that use the
    iteration's result, so ``CheckpointHook`` (``VERY_LOW``) never saves
    the weights the non-finite loss updated and ``EMAHook`` (``NORMAL``)
    never averages them in. The checkpoints already saved are untouched;
    resume from the last one (``tools/train.py --resume``), e.g. with a
    lower learning rate or gradient clipping.

    Every config of the project has it through
    ``configs/_base_/gmconv_imports.py`` (``custom_hooks``), and
    tools/train.py adds it to a config whose own ``custom_hooks`` replaced
    that list. It also stops an ``--amp`` run at an infinite loss; the
    loss scaler only handles infinite gradients.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not isinstance(outputs, dict):
            return
        bad = {}
        for name, value in outputs.items():
            if 'loss' not in name:
                continue
            value = torch.as_tensor(value).detach()
            if not torch.isfinite(value).all():
                bad[name] = value.float().mean().item()
        if not bad:
            return
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1}, batch {batch_idx + 1})'
        terms = ', '.join(f'{k}={"nan" if math.isnan(v) else v}'
                          for k, v in bad.items())
        raise FloatingPointError(
            f'non-finite training loss at {where}: {terms}. Training '
            'stopped; the weights it updated are not saved. Resume from the '
            'last checkpoint (tools/train.py --resume), e.g. with a lower '
            'learning rate or gradient clipping (optim_wrapper.clip_grad)')
