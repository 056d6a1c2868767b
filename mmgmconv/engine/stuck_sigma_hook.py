"""Warn when GMConv's sigmas do not learn: their updates round away in
float32, or only weight decay moves them."""
from collections import defaultdict

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS

from ..ops import SGMConv, named_gmconv_layers

#: What the log suggests when a sigma does not learn.
REMEDY = (
    'To let the data move them: no weight decay on sigma and a larger '
    'learning rate for it, with the switches of '
    'configs/_base_/paramwise/sigma.py (sigma_no_decay, sigma_lr_mult, or '
    'sigma_short_schedule: no decay and 1000 times the learning rate, our '
    'choice for short schedules and fine-tuning), e.g. '
    "optim_wrapper = dict(paramwise_cfg=_base_.sigma_short_schedule); "
    'see "Sigma and float32" in docs/advanced_guides/design.md')


def optimizer_param_groups(optim_wrapper):
    """Every param group of ``optim_wrapper`` (one optimizer or an
    ``OptimWrapperDict``)."""
    wrappers = (optim_wrapper.values() if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper])
    return [g for w in wrappers for g in w.optimizer.param_groups]


def float32_spacing(value):
    """The gap between ``value`` and the next float32 away from zero: an
    update smaller than half of it rounds away."""
    return float(np.spacing(np.float32(abs(value))))


@HOOKS.register_module()
class StuckSigmaHook(Hook):
    """Log a warning when GMConv's mask parameters do not learn.

    Every ``window`` training iterations it compares each S-GMConv
    ``sigma`` and each D-GMConv ``sigma_predictor`` with their values at the
    start of that window and warns, once per finding and group of layers:

    - **unchanged**: a parameter the optimizer stepped (it had a gradient,
      and a learning rate above 0) in every iteration of the window is bit
      for bit what it was.
      Its updates are below half of float32's spacing at its value (at
      sigma 5: 4.8e-7) and round away, or its gradient and its decay are 0;
    - **decay only**: two or more S-GMConv sigmas with the same learning
      rate and weight decay (above 0) all moved by the same fraction of
      their value, to within ``decay_tolerance`` of that fraction (a
      D-GMConv predictor: every tensor ``p`` moved along itself, to
      ``p0 * c``, with one ``c``). That is how weight decay (SGD, with or
      without momentum, and AdamW) moves parameters whose gradient is 0.
      For a predictor's tensors the residual off that direction bounds the
      data's share; for the scalar sigmas only the agreement of the
      fractions does, so with few layers a data gradient that moves them
      alike can raise it wrongly (seen with 2 layers over a 4-iteration
      window; the project's backbones have 6 to 48 S-GMConv layers).

    The warning names the layers, the learning rate and weight decay they
    see, float32's spacing at their value and the remedy (no decay and a
    larger learning rate for sigma, ``configs/_base_/paramwise/sigma.py``).

    Cheap: one read of all the parameters to the host per window (none
    between), a few Python floats (the learning rates) per iteration, and
    a copy of the tracked parameters on their device (a scalar per
    S-GMConv layer; the predictor's two FCs per D-GMConv layer), and a
    gradient hook on each that records, in Python, that it got a gradient.
    A model without GMConv, or whose GMConv parameters are frozen
    (``requires_grad=False``) or in no optimizer group, is not checked and
    nothing is logged; nor is a window in which a parameter had no
    gradient in some iteration (its layer unused: the optimizer skips it)
    or a learning rate of 0.

    Every config of the project has it through
    ``configs/_base_/gmconv_imports.py`` (``custom_hooks``), and
    tools/train.py adds it to a config whose own ``custom_hooks`` replaced
    that list.

    Args:
        window (int): Iterations between two comparisons. Default 100.
        decay_tolerance (float): How close to one common fraction the
            moves must be to count as decay only. Default 0.1 (our choice:
            a warning says that the data moved sigma by less than a tenth
            of what decay did).
    """

    priority = 'LOW'

    def __init__(self, window: int = 100, decay_tolerance: float = 0.1):
        if isinstance(window, bool) or not isinstance(window,
                                                      int) or window < 1:
            raise ValueError(f'window must be an int >= 1, got {window!r}')
        if not 0 < decay_tolerance < 1:
            raise ValueError('decay_tolerance must lie in (0, 1), got '
                             f'{decay_tolerance!r}')
        self.window = window
        self.decay_tolerance = decay_tolerance
        self.units = []  # (layer name, kind, [params], param group)
        self.warned = set()

    def before_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        group_of = {id(p): g
                    for g in optimizer_param_groups(runner.optim_wrapper)
                    for p in g['params']}
        self.units = []
        for name, layer in named_gmconv_layers(model):
            if isinstance(layer, SGMConv):
                kind, params = 'sigma', [layer.sigma]
            else:
                kind = 'sigma_predictor'
                params = list(layer.sigma_predictor.parameters())
            params = [p for p in params
                      if p.requires_grad and id(p) in group_of]
            if params:
                self.units.append((name, kind, params, group_of[id(
                    params[0])]))
        # which parameters got a gradient this iteration: the optimizer
        # skips (no step, no decay) those that did not
        self.got_grad = set()
        self.handles = [
            p.register_post_accumulate_grad_hook(
                lambda p: self.got_grad.add(id(p)))
            for _, _, params, _ in self.units for p in params
        ]
        self._start_window()

    def after_train(self, runner):
        for handle in getattr(self, 'handles', []):
            handle.remove()
        self.handles = []

    def _start_window(self):
        self.snapshot = [[p.detach().clone() for p in params]
                         for _, _, params, _ in self.units]
        self.min_lr = {}
        self.stepped = [0] * len(self.units)
        self.iters = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.units:
            return
        for i, (_, _, params, group) in enumerate(self.units):
            key = id(group)
            self.min_lr[key] = min(self.min_lr.get(key, group['lr']),
                                   group['lr'])
            self.stepped[i] += all(id(p) in self.got_grad for p in params)
        self.got_grad.clear()
        self.iters += 1
        if self.iters < self.window:
            return
        for finding, names, message in self._findings(runner):
            if (finding, names) not in self.warned:
                self.warned.add((finding, names))
                runner.logger.warning(message)
        self._start_window()

    def _statistics(self):
        """Per unit, per parameter ``(max |p - p0|, <p - p0, p0>,
        |p0|^2, |p - p0|^2, max |p|)`` as Python floats, read from the
        device at once."""
        stats, shapes = [], []
        for (_, _, params, _), before in zip(self.units, self.snapshot):
            shapes.append(len(params))
            for p, p0 in zip(params, before):
                p = p.detach().float()
                delta = p - p0.float()
                p0 = p0.float()
                stats.append(torch.stack([
                    delta.abs().max(), (delta * p0).sum(), (p0 * p0).sum(),
                    (delta * delta).sum(), p.abs().max()]).to(
                        stats[0].device if stats else p.device))
        values = iter(torch.stack(stats).tolist())
        return [[next(values) for _ in range(n)] for n in shapes]

    def _findings(self, runner):
        """``(finding, layer names, message)`` for this window."""
        stats = self._statistics()
        unchanged = defaultdict(list)
        decaying = defaultdict(list)
        for (name, kind, params, group), unit, stepped in zip(
                self.units, stats, self.stepped):
            lr = self.min_lr[id(group)]
            if lr <= 0 or stepped < self.iters:
                continue  # the optimizer did not step it every iteration
            wd = group.get('weight_decay', 0.0)
            key = (kind, group['lr'], wd)
            if all(s[0] == 0 for s in unit):
                unchanged[key].append((name, max(s[4] for s in unit), lr))
            elif wd > 0:
                decaying[key].append((name, unit))
        found = []
        for (kind, lr, wd), layers in unchanged.items():
            names = tuple(n for n, _, _ in layers)
            values = sorted({v for _, v, _ in layers})
            min_lr = min(m for _, _, m in layers)
            spacing = ', '.join(
                f'{float32_spacing(v):.2g} at {v:.6g}' for v in values[:4])
            what = ('sigma' if kind == 'sigma' else
                    'sigma predictor (largest |weight|)')
            found.append(('unchanged', names, (
                f'GMConv is not learning: the {what} of {len(names)} '
                f'layer(s) has not changed in {self.iters} iterations '
                'although the optimizer stepped it at a learning rate of '
                f'{lr:.3g} (at least {min_lr:.3g} in those iterations; '
                f'weight decay {wd:.3g}). Layers: {", ".join(names)}. '
                'Its updates are below half of float32\'s spacing at its '
                f'value ({spacing}) and round away. {REMEDY}')))
        for (kind, lr, wd), layers in decaying.items():
            moved = self._decay_only(kind, layers)
            if moved is None:
                continue
            names = tuple(n for n, _ in layers)
            value = max(max(s[4] for s in unit) for _, unit in layers)
            found.append(('decay', names, (
                f'GMConv is not learning from the data: the {kind} of '
                f'{len(names)} layers moved in the last {self.iters} '
                f'iterations by the same fraction, {moved}, as weight '
                f'decay ({wd:.3g}) alone moves them: the data moved them '
                f'by less than {self.decay_tolerance:.0%} of that. Layers: '
                f'{", ".join(names)}. Learning rate {lr:.3g}; float32\'s '
                f'spacing at {value:.6g} is {float32_spacing(value):.2g}. '
                f'{REMEDY}')))
        return found

    def _decay_only(self, kind, layers):
        """The common fraction (a string) when ``layers`` moved as decay
        alone moves them, else ``None``."""
        fractions = []
        for _, unit in layers:
            for max_delta, dot, norm0, norm_delta, _ in unit:
                if norm0 == 0:
                    if max_delta != 0:
                        return None  # moved away from 0: not decay
                    continue
                c = dot / norm0  # p - p0 = c * p0 + residual
                residual = max(norm_delta - c * c * norm0, 0.0)
                if c == 0 or residual > (self.decay_tolerance * c)**2 * norm0:
                    return None
                fractions.append(c)
        if not fractions or (kind == 'sigma' and len(fractions) < 2):
            return None
        mean = sum(fractions) / len(fractions)
        spread = max(fractions) - min(fractions)
        if mean >= 0 or spread > self.decay_tolerance * abs(mean):
            return None
        return (f'{mean:+.4%} of their value (the layers differ by '
                f'{spread / abs(mean):.1%} of that)')
