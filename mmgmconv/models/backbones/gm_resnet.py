"""mmdet ResNet with GMConv in chosen parts (stem, layer1 .. layer4)."""
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS

from ..utils import GMConvResNetMixin


@MODELS.register_module()
class GMResNet(GMConvResNetMixin, ResNet):
    """mmdet ``ResNet`` whose convs are GMConv in the chosen parts.

    Takes everything ``ResNet`` takes plus:

    Args:
        gmconv_stages: 5 bools for (stem, layer1, layer2, layer3, layer4).
            All ``False`` (the default) gives exactly mmdet's ``ResNet``.
        gmconv_cfg: ``dict(stem=..., body=...)``: the conv config (with
            its ``type``) of the stem and of the GMConv stages; required for
            each part that ``gmconv_stages`` turns on (no default: the
            paper's is ``configs/_base_/models/gmresnet_gmconv.py``).
        deploy: Build every S-GMConv as a plain ``nn.Conv2d``, the
            structure ``tools/fuse_gmconv.py`` writes; D-GMConv stays.

    A GMConv checkpoint loaded into it has the masks of its S-GMConv layers
    folded into the layers that are plain conv or DCN here (fold on load).

    Parameter names are those of ``ResNet`` (GMConv only adds ``sigma`` and
    ``sigma_predictor.*``), so plain ResNet checkpoints load into it. A stage
    may use GMConv or DCN (``dcn`` / ``stage_with_dcn``), not both.
    """
