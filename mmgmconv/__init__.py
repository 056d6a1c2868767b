"""mmgmconv: Gaussian Mask Convolution (GMConv) for OpenMMLab."""
from .checkpoint_safety import allow_mmengine_checkpoint_types
from . import datasets  # noqa: F401  (registers SklearnDigits)
from .engine import SigmaLoggerHook
from .models import GMResNet
from .ops import (PRED_PATTERNS, SIGMA_MIN, DGMConv, SGMConv, SigmaPredictor,
                  convert_to_gmconv, fuse_gmconv, gaussian_mask)

__version__ = '0.1.0'

allow_mmengine_checkpoint_types()

__all__ = [
    'gaussian_mask', 'SIGMA_MIN', 'SGMConv', 'DGMConv', 'PRED_PATTERNS',
    'SigmaPredictor', 'fuse_gmconv', 'convert_to_gmconv', 'GMResNet', 'SigmaLoggerHook', 'allow_mmengine_checkpoint_types'
]
