"""mmseg's ResNetV1c (deep stem, dilated stages) with GMConv."""
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS

from ..utils import GMConvResNetMixin


@MODELS.register_module()
class GMResNetV1c(GMConvResNetMixin, ResNetV1c):
    """mmseg ``ResNetV1c`` whose convs are GMConv in the chosen parts.

    The backbone of mmseg's R50-D8 configs: a deep stem of three 3x3 convs
    in place of the 7x7 one, and ``dilations`` / ``strides`` /
    ``contract_dilation`` for dilated (output stride 8) stages. Takes
    everything ``ResNetV1c`` takes plus:

    Args:
        gmconv_stages: 5 bools for (stem, layer1, layer2, layer3, layer4);
            the stem is all three convs of the deep stem. All ``False`` (the
            default) gives exactly mmseg's ``ResNetV1c``.
        gmconv_cfg: ``dict(stem=..., body=...)``: the conv config (with
            its ``type``) of the stem and of the GMConv stages; required for
            each part that ``gmconv_stages`` turns on (no default: the
            paper's is ``configs/_base_/models/gmresnet_gmconv.py``).
        deploy: Build every S-GMConv as a plain ``nn.Conv2d``, the
            structure ``tools/fuse_gmconv.py`` writes; D-GMConv stays.

    A GMConv layer keeps its conv's stride and dilation: the Gaussian mask
    (paper eq. 2) weighs the ``k x k`` kernel taps, wherever dilation puts
    them. That is our choice for dilated stages; the paper uses no dilation.

    Parameter names are those of ``ResNetV1c``, so its checkpoints load.
    An ImageNet GMConv ResNet-50 checkpoint (7x7 stem, the classification
    configs) loads into layer1-4, with the masks of S-GMConv layers that
    are plain convs here folded in; its stem (``conv1``) does not fit the
    deep stem (``stem.*``), which starts from its initialisation.
    """
