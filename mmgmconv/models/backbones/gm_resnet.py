"""mmdet ResNet with GMConv in chosen parts (stem, layer1 .. layer4)."""
import math

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS

from ..gmconv_stages import resolve_stage_conv_cfgs


@MODELS.register_module()
class GMResNet(ResNet):
    """mmdet ``ResNet`` whose convs are GMConv in the chosen parts.

    Takes everything ``ResNet`` takes plus:

    Args:
        gmconv_stages: 5 bools for (stem, layer1, layer2, layer3, layer4).
            All ``False`` gives exactly mmdet's ``ResNet``.
        gmconv_cfg: ``dict(stem=..., body=...)`` conv configs overriding the
            paper's default (D-GMConv stem, S-GMConv body, sigma_init 5).

    Parameter names are those of ``ResNet`` (GMConv only adds ``sigma`` and
    ``sigma_predictor.*``), so plain ResNet checkpoints load into it. A stage
    may use GMConv or DCN (``dcn`` / ``stage_with_dcn``), not both.
    """

    def __init__(self,
                 depth,
                 gmconv_stages=(False, False, False, False, False),
                 gmconv_cfg=None,
                 conv_cfg=None,
                 num_stages=4,
                 dcn=None,
                 stage_with_dcn=(False, False, False, False),
                 **kwargs):
        self._stem_conv_cfg, self._stage_conv_cfgs = resolve_stage_conv_cfgs(
            gmconv_stages, gmconv_cfg, conv_cfg, num_stages,
            stage_with_dcn if dcn is not None else None)
        self.gmconv_stages = tuple(gmconv_stages)
        super().__init__(
            depth,
            conv_cfg=conv_cfg,
            num_stages=num_stages,
            dcn=dcn,
            stage_with_dcn=stage_with_dcn,
            **kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        body_conv_cfg, self.conv_cfg = self.conv_cfg, self._stem_conv_cfg
        super()._make_stem_layer(in_channels, stem_channels)
        self.conv_cfg = body_conv_cfg

    def make_res_layer(self, **kwargs):
        # ResNet builds stage i with planes = base_channels * 2**i
        stage = int(math.log2(kwargs['planes'] // self.base_channels))
        kwargs['conv_cfg'] = self._stage_conv_cfgs[stage]
        return super().make_res_layer(**kwargs)
