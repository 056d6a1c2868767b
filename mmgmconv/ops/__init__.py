from .convert import GMCONV_KINDS, convert_to_gmconv
from .dgm_conv import PRED_PATTERNS, DGMConv
from .fuse import fuse_gmconv
from .gaussian_mask import SIGMA_MIN, gaussian_mask
from .gmconv_layers import named_gmconv_layers
from .sgm_conv import SGMConv
from .sigma_predictor import SigmaPredictor

__all__ = [
    'gaussian_mask', 'SIGMA_MIN', 'SGMConv', 'DGMConv', 'PRED_PATTERNS',
    'SigmaPredictor', 'fuse_gmconv', 'convert_to_gmconv', 'GMCONV_KINDS',
    'named_gmconv_layers'
]
