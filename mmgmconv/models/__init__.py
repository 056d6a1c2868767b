from .backbones import GMResNet
from .gmconv_stages import (DEFAULT_GMCONV_CFG, check_conv_cfg,
                            resolve_stage_conv_cfgs)

__all__ = [
    'GMResNet', 'DEFAULT_GMCONV_CFG', 'check_conv_cfg',
    'resolve_stage_conv_cfgs'
]
