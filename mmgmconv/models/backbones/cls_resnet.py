"""mmpretrain ResNets with GMConv: ImageNet ResNet and the CIFAR ResNets."""
from mmpretrain.models.backbones import ResNet, ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.registry import MODELS

from ..layers import ZeroPadShortcut
from ..utils import GMConvResNetMixin

#: ``shortcut`` values of ``GMResNet_CIFAR`` (He et al.'s options B and A).
SHORTCUTS = ('projection', 'zero_pad')

#: Depths of He et al.'s three-stage CIFAR ResNets (section 4.2).
HE_CIFAR_DEPTHS = (20, 32, 44, 56, 110)
#: Their defaults, besides ``num_stages=3``: 16 channels after the stem.
HE_CIFAR_DEFAULTS = dict(stem_channels=16, base_channels=16,
                         strides=(1, 2, 2), dilations=(1, 1, 1),
                         out_indices=(2, ))


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
    ``(depth - 2) / 6`` BasicBlocks with 16, 32, 64 channels; the defaults
    of ``num_stages``, ``stem_channels``, ``base_channels``, ``strides``,
    ``dilations`` and ``out_indices`` follow (3, 16, 16, ``(1, 2, 2)``,
    ``(1, 1, 1)``, ``(2, )``: :data:`HE_CIFAR_DEFAULTS`), so
    ``GMResNet_CIFAR(depth=20)`` builds. Depth 18, 34, 50, 101, 152: the
    four-stage ResNets used on CIFAR by Cutout (DeVries and Taylor 2017),
    as mmpretrain's ``ResNet_CIFAR`` (its defaults).

    Args:
        shortcut: How a block that changes shape adds its input:
            ``'projection'`` (1x1 conv + norm, option B, mmpretrain's
            default) or ``'zero_pad'`` (subsample and append zero channels,
            option A, He et al.'s CIFAR choice and the parameter counts of
            the paper's Table I).

    ``gmconv_stages`` has ``num_stages + 1`` entries (stem first).
    """
    arch_settings = {
        **ResNet_CIFAR.arch_settings,
        **{d: (BasicBlock, ((d - 2) // 6, ) * 3)
           for d in HE_CIFAR_DEPTHS},
    }

    def __init__(self, depth, num_stages=None, shortcut='projection',
                 **kwargs):
        if shortcut not in SHORTCUTS:
            raise ValueError(f'GMResNet_CIFAR shortcut must be one of '
                             f'{SHORTCUTS}, got {shortcut!r}')
        self.shortcut = shortcut
        if depth not in self.arch_settings:
            raise ValueError(f'GMResNet_CIFAR depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        stages = len(self.arch_settings[depth][1])
        if depth in HE_CIFAR_DEPTHS:
            kwargs = {**HE_CIFAR_DEFAULTS, **kwargs}
        if num_stages is None:
            num_stages = stages
        if num_stages > stages:
            raise ValueError(f'depth {depth} has {stages} stages, got '
                             f'num_stages={num_stages}')
        super().__init__(depth, num_stages=num_stages, **kwargs)

    def make_res_layer(self, **kwargs):
        layer = super().make_res_layer(**kwargs)
        if self.shortcut == 'zero_pad' and layer[0].downsample is not None:
            layer[0].downsample = ZeroPadShortcut(
                kwargs['in_channels'], kwargs['out_channels'],
                kwargs['stride'])
        return layer
