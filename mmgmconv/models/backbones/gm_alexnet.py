"""AlexNet with a choice of conv type (mmpretrain's hard-codes nn.Conv2d)."""
from mmcv.cnn import build_conv_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import nn

from ...ops.load_hooks import register_load_pre_hook
from ..utils import (
    GMConvDeployMixin,
    check_conv_cfg,
    deploy_conv_cfg,
    fold_gmconv_checkpoint,
    log_gmconv_layout,
)


@MODELS.register_module()
class GMAlexNet(GMConvDeployMixin, BaseBackbone):
    """AlexNet (torchvision layout, 61.1M params with the 1000-way head).

    Args:
        num_classes: Classifier outputs; -1 (default) for features only.
        stem_conv_cfg: Conv of the 11x11 first layer (``None``: nn.Conv2d).
        conv_cfg: Conv of the other four layers (5x5 and 3x3).
        deploy: Build S-GMConv layers as plain ``nn.Conv2d`` (the structure
            ``tools/fuse_gmconv.py`` writes); D-GMConv stays.

    Parameter names match mmpretrain's ``AlexNet`` (``features.0`` ...).
    S-GMConv masks of a checkpoint are folded into the plain convs that
    load them (fold on load, as in the GMConv ResNets). At build time it
    logs where GMConv is (stem, conv2-5).
    Shapes: input ``(B, 3, H, W)``; output ``((B, 256, 6, 6), )`` or
    ``((B, num_classes), )``.
    """

    def __init__(self, num_classes=-1, stem_conv_cfg=None, conv_cfg=None,
                 deploy=False, init_cfg=None):
        super().__init__(init_cfg)
        check_conv_cfg(stem_conv_cfg, 'stem_conv_cfg')
        check_conv_cfg(conv_cfg, 'conv_cfg')
        stem_conv_cfg = deploy_conv_cfg(stem_conv_cfg, deploy)
        conv_cfg = deploy_conv_cfg(conv_cfg, deploy)
        self.deploy = deploy
        register_load_pre_hook(self, fold_gmconv_checkpoint)
        if not isinstance(num_classes, int) or num_classes == 0 or \
                num_classes < -1:
            raise ValueError(f'num_classes must be -1 (no classifier) or a '
                             f'positive int, got {num_classes!r}')
        self.num_classes = num_classes

        def conv(cfg, cin, cout, k, **kw):
            return build_conv_layer(cfg, cin, cout, kernel_size=k, **kw)

        self.features = nn.Sequential(
            conv(stem_conv_cfg, 3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            conv(conv_cfg, 64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            conv(conv_cfg, 192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            conv(conv_cfg, 384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            conv(conv_cfg, 256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        log_gmconv_layout(
            self, {
                'stem': self.features[0],
                'conv2-5': [self.features[i] for i in (3, 6, 8, 10)]
            }, [])
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        if num_classes > 0:
            self.classifier = nn.Sequential(
                nn.Dropout(),
                nn.Linear(256 * 6 * 6, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes),
            )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        if self.num_classes > 0:
            x = self.classifier(x.flatten(1))
        return (x, )
