"""GMConv backbones for mmdet, mmpretrain and mmseg.

Each needs its toolbox and registers there when its module is imported:
through its toolbox's entry module (``mmgmconv.toolboxes.mmdet``,
``.mmpretrain``, ``.mmseg``), or on first access to
``mmgmconv.models.GMResNet`` and the others here.
"""
from importlib import import_module

# utils first: its ResNet mixin imports gmconv_stages, which imports
# utils.conv_cfg
from .utils import GMConvResNetMixin, check_conv_cfg  # isort: skip
from .gmconv_stages import resolve_stage_conv_cfgs

_BACKBONES = 'mmgmconv.models.backbones.'

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
