"""mmgmconv: Gaussian Mask Convolution (GMConv) for OpenMMLab.

Needs torch, mmengine and mmcv. The mmdet, mmpretrain and mmseg parts
register when those toolboxes are installed, on their registries' first
use.
"""
from . import (
    datasets,  # noqa: F401  (registers SklearnDigits with mmpretrain)
    models,
)
from .checkpoint_safety import (
    allow_mmengine_checkpoint_types,
    install_checkpoint_policy,
)
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

# every checkpoint mmengine reads from now on: no code run, whole, finite
install_checkpoint_policy()


# GMResNet is not in __all__: `from mmgmconv import *` would import mmdet
def __getattr__(name):
    if name == 'GMResNet':  # imports mmdet.models: on first access only
        return models.GMResNet
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    '__version__',
    'gaussian_mask', 'SIGMA_MIN', 'SGMConv', 'DGMConv', 'PRED_PATTERNS',
    'SigmaPredictor', 'fuse_gmconv', 'convert_to_gmconv', 'SigmaLoggerHook',
    'allow_mmengine_checkpoint_types'
]
