"""Warn when GMConv's sigmas do not learn: their updates round away in
float32, or only weight decay moves them."""
import math
import statistics
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


def optimizer_wrappers(optim_wrapper):
    """The optimizer wrappers of ``optim_wrapper`` (one, or the values of an
    ``OptimWrapperDict``)."""
    return (list(optim_wrapper.values()) if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper])


def float32_spacing(value):
    """The gap between ``value`` and the next float32 away from zero: an
    update smaller than half of it rounds away."""
    return float(np.spacing(np.float32(abs(value))))


class DecayOnlyCopy:
    """S-GMConv sigmas as weight decay alone would move them: a float32
    copy of each on the CPU, starting at its value, stepped with a zero
    gradient, whenever the run's optimizer wrapper updates, by an optimizer
    of the
    run's class with fresh state (momentum buffers, Adam moments) and the
    hyperparameters the run's optimizer steps with (learning rate,
    momentum, weight decay, ...; read before each iteration).

    Sigmas whose param groups have equal hyperparameters at the start
    share one group of the copy (mmengine's ``paramwise_cfg`` makes a group
    per parameter; one step of one group per optimizer keeps the copy
    cheap), which follows the first of those groups: schedulers change
    groups that start equal alike.

    Args:
        sigmas (list): ``(sigma, param group, optimizer wrapper)`` triples.
    """

    #: how an optimizer computes, not what: the copy's are its own
    IMPLEMENTATION = ('foreach', 'fused', 'capturable', 'differentiable')

    def __init__(self, sigmas):
        # id(wrapper) -> (wrapper, {hyperparameters: (group, [indices])})
        per_wrapper = {}
        for i, (sigma, group, wrapper) in enumerate(sigmas):
            groups = per_wrapper.setdefault(id(wrapper), (wrapper, {}))[1]
            key = repr(sorted(self._hyperparameters(group).items()))
            groups.setdefault(key, (group, []))[1].append(i)
        self.where = [None] * len(sigmas)  # (vector, index) per sigma
        self.mirrors = []  # (wrapper, optimizer, [(group, mirror group)])
        for wrapper, groups in per_wrapper.values():
            vectors = []
            for _, indices in groups.values():
                # one vector of copies per group: one step for all of them
                vector = torch.stack([
                    sigmas[i][0].detach().to('cpu', torch.float32).reshape(
                        ()) for i in indices])
                vector.grad = torch.zeros_like(vector)
                vectors.append(vector)
                for position, i in enumerate(indices):
                    self.where[i] = (vector, position)
            try:
                optimizer = type(wrapper.optimizer)(
                    [dict(self._hyperparameters(group), params=[vector])
                     for (group, _), vector in zip(groups.values(), vectors)],
                    **self._hyperparameters(wrapper.optimizer.defaults))
            except Exception:  # an optimizer not built this way: no copy
                for _, indices in groups.values():
                    for i in indices:
                        self.where[i] = None
                continue
            self.mirrors.append((wrapper, optimizer, [
                (group, mirror) for (group, _), mirror in zip(
                    groups.values(), optimizer.param_groups)]))

    @classmethod
    def _hyperparameters(cls, group):
        """A param group's (or an optimizer's defaults') entries but the
        parameters and how the optimizer computes."""
        return {k: v for k, v in group.items()
                if k != 'params' and k not in cls.IMPLEMENTATION}

    def before_step(self):
        """Read the hyperparameters the run's optimizer steps with in this
        iteration (schedulers change them after it)."""
        for _, _, groups in self.mirrors:
            for group, mirror in groups:
                mirror.update(self._hyperparameters(group))

    def step(self):
        """Step the copies whose wrapper updated in this iteration
        (with gradient accumulation it updates once in several)."""
        for wrapper, optimizer, groups in self.mirrors:
            if wrapper.should_update():
                optimizer.step()

    def values(self):
        """The copies' values now, a float32 CPU tensor per sigma (``None``
        for a sigma whose optimizer could not be built again from its
        class, param groups and defaults)."""
        return [None if where is None else where[0].detach()[where[1]].clone()
                for where in self.where]


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
    - **decay only**: each S-GMConv sigma of a group (same learning rate
      and weight decay above 0) moved by the fraction of its value by which
      weight decay alone would have moved it, to within
      ``decay_tolerance`` of that fraction. What decay alone does is
      computed: ``DecayOnlyCopy`` steps a copy of the sigmas from the
      start of training with the run's optimizer class and
      hyperparameters and a zero gradient. Exact for a run that starts
      fresh; a resumed run's copy starts with no momentum, so in its first
      window decay's move is underestimated (by up to about
      ``1 / (window * (1 - momentum))``, 10% at the defaults) and a
      warning may come one window later. A D-GMConv predictor: every
      tensor ``p`` moved along itself, to ``p0 * c``, with one ``c``, and
      the residual off that direction is below ``decay_tolerance`` of the
      move (how SGD, with or without momentum, and AdamW decay parameters
      whose gradient is 0).
      The copy's optimizer is built from the run's class, param groups
      and ``defaults``; where that fails (an optimizer that wraps another,
      such as ``ZeroRedundancyOptimizer``) its sigmas get no decay-only
      finding.

    The warning names the layers, the learning rate and weight decay they
    see, float32's spacing at their value and the remedy (no decay and a
    larger learning rate for sigma, ``configs/_base_/paramwise/sigma.py``).

    Cheap: one read of all the parameters to the host per window (none
    between), a few Python floats (the learning rates) per iteration, a
    copy of the tracked parameters on their device (a scalar per S-GMConv
    layer; the predictor's two FCs per D-GMConv layer), a gradient hook on
    each parameter that records, in Python, that it got a gradient, and
    the decay-only copy: one optimizer step per iteration on a CPU vector
    of the sigmas (per group of equal hyperparameters).
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
        decay_tolerance (float): How close to decay's move a parameter's
            move must be to count as decay only. Default 0.1 (our choice:
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
        group_of = {id(p): (g, w)
                    for w in optimizer_wrappers(runner.optim_wrapper)
                    for g in w.optimizer.param_groups for p in g['params']}
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
                group, wrapper = group_of[id(params[0])]
                self.units.append((name, kind, params, group, wrapper))
        # which parameters got a gradient this iteration: the optimizer
        # skips (no step, no decay) those that did not
        self.got_grad = set()
        self.handles = [
            p.register_post_accumulate_grad_hook(
                lambda p: self.got_grad.add(id(p)))
            for _, _, params, _, _ in self.units for p in params
        ]
        self.sigma_index = {}  # unit index -> index in decay_only
        sigmas = []
        for i, (_, kind, params, group, wrapper) in enumerate(self.units):
            if kind == 'sigma':
                self.sigma_index[i] = len(sigmas)
                sigmas.append((params[0], group, wrapper))
        self.decay_only = DecayOnlyCopy(sigmas)
        self._start_window()

    def after_train(self, runner):
        for handle in getattr(self, 'handles', []):
            handle.remove()
        self.handles = []

    def _start_window(self):
        self.snapshot = [[p.detach().clone() for p in params]
                         for _, _, params, _, _ in self.units]
        self.decay_only_start = self.decay_only.values()
        self.min_lr = {}
        self.stepped = [0] * len(self.units)
        self.iters = 0

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.units:
            self.decay_only.before_step()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.units:
            return
        self.decay_only.step()
        for i, (_, _, params, group, _) in enumerate(self.units):
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
        """Per unit, per parameter ``(max |p - p0|, <p - p0, p0>, |p0|^2,
        |p - p0|^2, max |p|, the fraction by which decay alone moved it)``
        as Python floats, read from the device at once; that fraction (an
        S-GMConv sigma's, see ``DecayOnlyCopy``) is ``None`` for the
        others."""
        moves = [None if c is None else (c - c0) / c0 for c, c0 in zip(
            self.decay_only.values(), self.decay_only_start)]
        stats, shapes, predicted = [], [], []
        for i, ((_, _, params, _, _), before) in enumerate(
                zip(self.units, self.snapshot)):
            shapes.append(len(params))
            move = moves[self.sigma_index[i]] if i in self.sigma_index \
                else None
            predicted.append(move is not None)
            for p, p0 in zip(params, before):
                p = p.detach().float()
                delta = p - p0.float()
                p0 = p0.float()
                decay_move = (move.float().reshape(()) if move is not None
                              else delta.new_zeros(()))
                stats.append(torch.stack([
                    delta.abs().max(), (delta * p0).sum(), (p0 * p0).sum(),
                    (delta * delta).sum(), p.abs().max(),
                    decay_move.to(p.device)]).to(
                        stats[0].device if stats else p.device))
        values = iter(torch.stack(stats).tolist())
        return [[v if has else v[:5] + [None]
                 for v in (next(values) for _ in range(n))]
                for n, has in zip(shapes, predicted)]

    def _findings(self, runner):
        """``(finding, layer names, message)`` for this window."""
        stats = self._statistics()
        unchanged = defaultdict(list)
        decaying = defaultdict(list)
        for (name, kind, params, group, _), unit, stepped in zip(
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
            moved = (self._sigma_decay_only(layers) if kind == 'sigma' else
                     self._predictor_decay_only(layers))
            if moved is None:
                continue
            names = tuple(n for n, _ in layers)
            value = max(max(s[4] for s in unit) for _, unit in layers)
            found.append(('decay', names, (
                f'GMConv is not learning from the data: the {kind} of '
                f'{len(names)} layer(s) moved in the last {self.iters} '
                f'iterations as weight decay ({wd:.3g}) alone moves them, '
                f'{moved}: the data moved them by less than '
                f'{self.decay_tolerance:.0%} of that. Layers: '
                f'{", ".join(names)}. Learning rate {lr:.3g}; float32\'s '
                f'spacing at {value:.6g} is {float32_spacing(value):.2g}. '
                f'{REMEDY}')))
        return found

    def _sigma_decay_only(self, layers):
        """How the S-GMConv sigmas of ``layers`` moved (a string) when each
        moved as decay alone moves it (``DecayOnlyCopy``), else ``None``."""
        observed, predicted = [], []
        for _, ((_, dot, norm0, _, _, decay_fraction), ) in layers:
            if not decay_fraction or not math.isfinite(decay_fraction) \
                    or norm0 == 0:
                return None
            fraction = dot / norm0  # (sigma - sigma0) / sigma0
            if abs(fraction - decay_fraction) > \
                    self.decay_tolerance * abs(decay_fraction):
                return None
            observed.append(fraction)
            predicted.append(decay_fraction)
        return (f'by {statistics.mean(observed):+.4%} of their value on '
                f'average (decay alone: {statistics.mean(predicted):+.4%})')

    def _predictor_decay_only(self, layers):
        """How the D-GMConv predictors of ``layers`` moved (a string) when
        every tensor moved along itself by one common fraction, else
        ``None``."""
        fractions = []
        for _, unit in layers:
            for max_delta, dot, norm0, norm_delta, *_ in unit:
                if norm0 == 0:
                    if max_delta != 0:
                        return None  # moved away from 0: not decay
                    continue
                c = dot / norm0  # p - p0 = c * p0 + residual
                residual = max(norm_delta - c * c * norm0, 0.0)
                if c == 0 or residual > (self.decay_tolerance * c)**2 * norm0:
                    return None
                fractions.append(c)
        if not fractions:
            return None
        mean = sum(fractions) / len(fractions)
        spread = max(fractions) - min(fractions)
        if mean >= 0 or spread > self.decay_tolerance * abs(mean):
            return None
        return (f'by {mean:+.4%} of their value (the layers differ by '
                f'{spread / abs(mean):.1%} of that)')
