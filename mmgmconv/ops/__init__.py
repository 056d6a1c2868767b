from .convert import GMCONV_KINDS, convert_to_gmconv
from .dgm_conv import PRED_PATTERNS, DGMConv
from .dgm_conv_nd import (
    PRED_PATTERNS_1D,
    PRED_PATTERNS_3D,
    DGMConv1d,
    DGMConv3d,
)
from .fuse import fuse_gmconv
from .gaussian_mask import (
    SIGMA_INIT_RANGE,
    SIGMA_MIN,
    gaussian_mask,
    gaussian_mask_nd,
)
from .gmconv_layers import named_gmconv_layers
from .sgm_conv import FOLDED_KEY, SGMConv, is_folded, mark_folded
from .sgm_conv_nd import SGMConv1d, SGMConv3d
from .sigma_predictor import SigmaPredictor

__all__ = [
    'gaussian_mask', 'SIGMA_MIN', 'SIGMA_INIT_RANGE', 'SGMConv', 'FOLDED_KEY',
    'mark_folded', 'is_folded', 'DGMConv', 'PRED_PATTERNS',
    'SigmaPredictor', 'fuse_gmconv', 'convert_to_gmconv', 'GMCONV_KINDS',
    'named_gmconv_layers', 'gaussian_mask_nd', 'SGMConv1d', 'SGMConv3d',
    'DGMConv1d', 'DGMConv3d', 'PRED_PATTERNS_1D', 'PRED_PATTERNS_3D'
]
