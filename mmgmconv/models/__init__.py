from .backbones import (ClsGMResNet, GMAlexNet, GMMobileNetV2, GMResNet,
                        GMResNet_CIFAR)
from .gmconv_stages import DEFAULT_GMCONV_CFG, resolve_stage_conv_cfgs
from .utils import GMConvResNetMixin, check_conv_cfg

__all__ = [
    'GMResNet', 'ClsGMResNet', 'GMResNet_CIFAR', 'GMAlexNet', 'GMMobileNetV2',
    'DEFAULT_GMCONV_CFG', 'check_conv_cfg', 'GMConvResNetMixin',
    'resolve_stage_conv_cfgs'
]
