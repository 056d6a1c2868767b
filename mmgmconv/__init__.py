"""mmgmconv: Gaussian Mask Convolution (GMConv) for OpenMMLab.

``import mmgmconv`` (or ``custom_imports=dict(imports=['mmgmconv'])``)
registers the GMConv layers in mmcv's conv registry and mmgmconv's hooks in
mmengine's, and changes nothing else in the process: no checkpoint loader,
no torch setting, no other package's registry entry. It needs torch,
mmengine and mmcv and imports no toolbox.

Opt-ins, each explicit:

- the backbones and datasets of a toolbox: ``mmgmconv.toolboxes.mmdet``,
  ``.mmpretrain``, ``.mmseg`` (import the one of your toolbox);
- the project's checkpoint policy (no code run, whole, finite):
  :func:`mmgmconv.checkpoint_safety.install_checkpoint_policy`, or
  ``import mmgmconv.safe_checkpoints`` in a config's ``custom_imports``.
"""
from . import engine  # noqa: F401  (registers the hooks)
from .engine import SigmaLoggerHook
from .ops import (
    PRED_PATTERNS,
    SIGMA_MIN,
    DGMConv,
    SGMConv,
    SigmaPredictor,
    convert_to_gmconv,
    fuse_gmconv,
    gaussian_mask,
)
from .version import __version__


# GMResNet is not in __all__: `from mmgmconv import *` would import mmdet
def __getattr__(name):
    if name == 'GMResNet':  # imports mmdet.models: on first access only
        from .models import GMResNet
        return GMResNet
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    '__version__',
    'gaussian_mask', 'SIGMA_MIN', 'SGMConv', 'DGMConv', 'PRED_PATTERNS',
    'SigmaPredictor', 'fuse_gmconv', 'convert_to_gmconv', 'SigmaLoggerHook',
]
