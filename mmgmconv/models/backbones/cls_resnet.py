"""mmpretrain ResNets with GMConv: ImageNet ResNet and the CIFAR ResNets."""
from mmpretrain.models.backbones import ResNet, ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.registry import MODELS

from .gmconv_resnet_mixin import GMConvResNetMixin


@MODELS.register_module('GMResNet')
class ClsGMResNet(GMConvResNetMixin, ResNet):
    """mmpretrain ``ResNet`` (ImageNet: 7x7 stem, max pool, 4 stages) with
    GMConv in the parts chosen by ``gmconv_stages`` (stem, layer1..layer4).

    Registered as ``'GMResNet'`` in mmpretrain. Parameter names are those of
    ``ResNet`` and of mmdet's ``GMResNet``, so a checkpoint trained here
    loads into the detection backbone.
    """


@MODELS.register_module('GMResNet_CIFAR')
class GMResNet_CIFAR(GMConvResNetMixin, ResNet_CIFAR):
    """CIFAR ResNets (3x3 stride-1 stem, no max pool) with GMConv.

    Depth 20, 32, 44, 56, 110: He et al. 2016, section 4.2: three stages of
    ``(depth - 2) / 6`` BasicBlocks with 16, 32, 64 channels; pass
    ``num_stages=3, stem_channels=16, base_channels=16, strides=(1, 2, 2),
    dilations=(1, 1, 1), out_indices=(2, )`` (see configs/classification).
    Shortcuts that change shape are 1x1 convs (option B). Depth 18, 34, 50,
    101, 152: the four-stage ResNets used on CIFAR by Cutout (DeVries and
    Taylor 2017), as mmpretrain's ``ResNet_CIFAR``.

    ``gmconv_stages`` has ``num_stages + 1`` entries (stem first).
    """
    arch_settings = {
        **ResNet_CIFAR.arch_settings,
        **{d: (BasicBlock, ((d - 2) // 6, ) * 3)
           for d in (20, 32, 44, 56, 110)},
    }

    def __init__(self, depth, num_stages=4, **kwargs):
        if depth not in self.arch_settings:
            raise ValueError(f'GMResNet_CIFAR depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        stages = len(self.arch_settings[depth][1])
        if num_stages > stages:
            raise ValueError(f'depth {depth} has {stages} stages, got '
                             f'num_stages={num_stages}')
        super().__init__(depth, num_stages=num_stages, **kwargs)
