"""Log every GMConv layer's sigma during training."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..ops import DGMConv, SGMConv


def gmconv_sigmas(model):
    """``{name: value}`` of the current sigmas of ``model``'s GMConv layers.

    S-GMConv: ``sigma/NAME`` (its magnitude; 1x1 layers have none).
    D-GMConv: ``sigma1/NAME`` and ``sigma2/NAME``, batch means of the last
    forward pass (absent before the first one).
    """
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, SGMConv) and m.sigma is not None:
            out[f'sigma/{name}'] = m.sigma.detach().abs().item()
        elif isinstance(m, DGMConv) and m.last_sigmas is not None:
            mean = m.last_sigmas.float().mean(dim=0)
            out[f'sigma1/{name}'] = mean[0].item()
            out[f'sigma2/{name}'] = mean[1].item()
    return out


@HOOKS.register_module()
class SigmaLoggerHook(Hook):
    """Put GMConv sigmas in the training log every ``interval`` iterations.

    They go to the message hub as ``train/sigma/LAYER`` (and
    ``train/sigma1/...``, ``train/sigma2/...`` for D-GMConv), so the logger
    writes them to the text log, the JSON scalars and every visualisation
    backend (TensorBoard included). Use from a config::

        custom_hooks = [dict(type='SigmaLoggerHook', interval=50)]

    Keep ``interval`` equal to the ``LoggerHook`` interval so every logged
    line carries the latest values.
    """
    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 50):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive int, got '
                             f'{interval!r}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for key, value in gmconv_sigmas(model).items():
            runner.message_hub.update_scalar(f'train/{key}', value)
