"""mmpretrain MobileNetV2 with its own conv type for the stem."""
from mmcv.cnn import build_conv_layer
from mmpretrain.models.backbones import MobileNetV2
from mmpretrain.registry import MODELS

from ...ops.load_hooks import register_load_pre_hook
from ..utils import (
    GMConvDeployMixin,
    check_conv_cfg,
    deploy_conv_cfg,
    fold_gmconv_checkpoint,
    log_gmconv_layout,
)


@MODELS.register_module()
class GMMobileNetV2(GMConvDeployMixin, MobileNetV2):
    """``MobileNetV2`` whose first conv may differ from the others.

    mmpretrain's ``MobileNetV2`` takes one ``conv_cfg`` for every conv
    (3x3 depthwise ones included, which S-GMConv handles). The paper's
    "GMConv" variant needs D-GMConv in the stem only, so:

    Args:
        stem_conv_cfg: Conv of the first 3x3 conv (``conv1.conv``); ``None``
            uses ``conv_cfg`` like ``MobileNetV2``.
        deploy: Build S-GMConv layers as plain ``nn.Conv2d`` (the structure
            ``tools/fuse_gmconv.py`` writes); D-GMConv stays.
        **kwargs: ``MobileNetV2``'s arguments (``conv_cfg``, ...).

    S-GMConv masks of a checkpoint are folded into the plain convs that
    load them (fold on load, as in the GMConv ResNets). At build time it
    logs where GMConv is and warns about GMConv layers that
    ``frozen_stages`` freezes.
    """

    def __init__(self, stem_conv_cfg=None, deploy=False, **kwargs):
        check_conv_cfg(stem_conv_cfg, 'stem_conv_cfg')
        check_conv_cfg(kwargs.get('conv_cfg'), 'conv_cfg')
        stem_conv_cfg = deploy_conv_cfg(stem_conv_cfg, deploy)
        kwargs['conv_cfg'] = deploy_conv_cfg(kwargs.get('conv_cfg'), deploy)
        super().__init__(**kwargs)
        self.deploy = deploy
        register_load_pre_hook(self, fold_gmconv_checkpoint)
        if stem_conv_cfg is not None:
            old = self.conv1.conv
            self.conv1.conv = build_conv_layer(
                stem_conv_cfg, old.in_channels, old.out_channels,
                kernel_size=old.kernel_size, stride=old.stride,
                padding=old.padding, bias=old.bias is not None)
        frozen = self.frozen_stages
        log_gmconv_layout(
            self, {
                'stem': self.conv1,
                **{name: getattr(self, name)
                   for name in self.layers}
            }, ['stem', *self.layers[:frozen]] if frozen >= 0 else [],
            f'frozen_stages={frozen}')
