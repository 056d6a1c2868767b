"""GMConv backbones for mmdet, mmpretrain and mmseg.

They register into the toolboxes' ``MODELS`` the first time that registry is
searched (see ``mmgmconv.toolbox_registration``); ``mmgmconv.models.GMResNet``
and the others import their module on first access.
"""
from importlib import import_module

from ..toolbox_registration import register_on_first_use

# utils first: its ResNet mixin imports gmconv_stages, which imports
# utils.conv_cfg
from .utils import GMConvResNetMixin, check_conv_cfg  # isort: skip
from .gmconv_stages import resolve_stage_conv_cfgs

_BACKBONES = 'mmgmconv.models.backbones.'
MMDET_MODULES = [_BACKBONES + 'gm_resnet']
MMPRETRAIN_MODULES = [
    _BACKBONES + m for m in ('cls_resnet', 'gm_alexnet', 'gm_mobilenet_v2')
]
register_on_first_use('mmdet', 'MODELS', MMDET_MODULES)
MMSEG_MODULES = [_BACKBONES + 'seg_resnet']
register_on_first_use('mmpretrain', 'MODELS', MMPRETRAIN_MODULES)
register_on_first_use('mmseg', 'MODELS', MMSEG_MODULES)

_LAZY = {
    'GMResNet': 'gm_resnet',
    'ClsGMResNet': 'cls_resnet',
    'GMResNet_CIFAR': 'cls_resnet',
    'GMAlexNet': 'gm_alexnet',
    'GMMobileNetV2': 'gm_mobilenet_v2',
    'GMResNetV1c': 'seg_resnet',
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_BACKBONES + _LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


# the lazily imported backbones (_LAZY) are not in __all__: a star import
# would import mmdet and mmpretrain
__all__ = [
    'check_conv_cfg', 'GMConvResNetMixin',
    'resolve_stage_conv_cfgs'
]
