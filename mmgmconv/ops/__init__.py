from .convert import GMCONV_KINDS, convert_to_gmconv
from .dgm_conv import PRED_PATTERNS, DGMConv
from .fuse import fuse_gmconv
from .gaussian_mask import SIGMA_INIT_RANGE, SIGMA_MIN, gaussian_mask
from .gmconv_layers import named_gmconv_layers
from .sgm_conv import FOLDED_KEY, SGMConv, is_folded, mark_folded
from .sigma_predictor import SigmaPredictor

__all__ = [
    'gaussian_mask', 'SIGMA_MIN', 'SIGMA_INIT_RANGE', 'SGMConv', 'FOLDED_KEY',
    'mark_folded', 'is_folded', 'DGMConv', 'PRED_PATTERNS',
    'SigmaPredictor', 'fuse_gmconv', 'convert_to_gmconv', 'GMCONV_KINDS',
    'named_gmconv_layers'
]
