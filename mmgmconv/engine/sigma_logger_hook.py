"""Log every GMConv layer's sigma during training."""
import torch
from mmengine.hooks import Hook, LoggerHook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..ops import SGMConv, named_gmconv_layers


def gmconv_sigmas(model):
    """``{name: value}`` of the current sigmas of ``model``'s GMConv layers.

    S-GMConv: ``sigma/NAME`` (its magnitude; 1x1 layers have none).
    D-GMConv: ``sigma1/NAME`` and ``sigma2/NAME``, batch means of the last
    forward pass (absent before the first one). All values are read back
    from the device at once (one host synchronisation).
    """
    tensors = {}
    for name, m in named_gmconv_layers(model):
        if isinstance(m, SGMConv):
            tensors[f'sigma/{name}'] = m.sigma.detach().abs()
        elif m.last_sigmas is not None:
            mean = m.last_sigmas.float().mean(dim=0)
            tensors[f'sigma1/{name}'] = mean[0]
            tensors[f'sigma2/{name}'] = mean[1]
    if not tensors:
        return {}
    device = next(iter(tensors.values())).device
    values = torch.stack([t.float().to(device) for t in tensors.values()])
    return dict(zip(tensors, values.tolist()))


@HOOKS.register_module()
class SigmaLoggerHook(Hook):
    """Put GMConv sigmas in the training log.

    They go to the message hub as ``train/sigma/LAYER`` (and
    ``train/sigma1/...``, ``train/sigma2/...`` for D-GMConv), so the logger
    writes them to the text log, the JSON scalars and every visualisation
    backend (TensorBoard included). Use from a config (keeping the
    ``custom_hooks`` of ``configs/_base_/gmconv_imports.py``)::

        custom_hooks = _base_.custom_hooks + [dict(type='SigmaLoggerHook')]

    A log line (or scalar at ``step``) for iteration ``t`` shows the sigmas
    after the optimizer step of iteration ``t``:

    - the hook runs before ``LoggerHook`` (priority ``NORMAL`` = 50 against
      its ``BELOW_NORMAL`` = 60), after the step (``after_train_iter``);
    - it writes after every iteration, so whatever iterations the
      ``LoggerHook`` picks (its interval counts iterations within an epoch,
      plus the last one of an epoch) find the current values. The cost is
      one host synchronisation per iteration, as for the losses;
    - the log processor reports the last value of a scalar, except for
      names matching its ``mean_pattern``, which it averages over
      ``window_size`` iterations; a sigma name that matches (a layer called
      ``...time...``, say) gets a ``custom_cfg`` entry with
      ``method_name='current'``, mmengine's per-key override.

    The log line shows 4 decimals (the log processor's ``num_digits``),
    too few to see a sigma drift by a few float32 steps; the JSON scalars
    and TensorBoard hold the full value. So at each iteration the
    ``LoggerHook`` logs, this hook also logs a line of its own with every
    sigma to float32's precision (8 significant digits) and its change
    since the start of training (S-GMConv: the value before the first
    iteration, after any resume; D-GMConv: the first iteration's batch
    mean), e.g. ``sigma/backbone.layer1.0.conv1 4.9999995
    (-4.768e-07)``.
    """
    priority = 'NORMAL'

    def __init__(self):
        self._current_keys = set()
        self.initial = {}

    def before_train(self, runner):
        self.initial = gmconv_sigmas(self._model(runner))

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        processor = runner.log_processor
        sigmas = gmconv_sigmas(self._model(runner))
        for key, value in sigmas.items():
            self.initial.setdefault(key, value)
            runner.message_hub.update_scalar(f'train/{key}', value)
            if key not in self._current_keys:
                self._current_keys.add(key)
                if processor.mean_pattern.search(key) and not any(
                        key in (c['data_src'], c.get('log_name'))
                        for c in processor.custom_cfg):
                    processor.custom_cfg.append(
                        dict(data_src=key, method_name='current'))
        if sigmas and self._logs_now(runner, batch_idx):
            runner.logger.info('sigma (change since the start): ' + ', '.join(
                f'{key} {value:.8g} ({value - self.initial[key]:+.3e})'
                for key, value in sigmas.items()))

    def _logs_now(self, runner, batch_idx):
        """Whether the runner's ``LoggerHook`` logs this iteration (its own
        rule, mmengine 0.10)."""
        logger = next((h for h in runner.hooks if isinstance(h, LoggerHook)),
                      None)
        if logger is None:
            return False
        return self.every_n_inner_iters(batch_idx, logger.interval) or (
            self.end_of_epoch(runner.train_dataloader, batch_idx) and
            (not logger.ignore_last
             or len(runner.train_dataloader) <= logger.interval))
