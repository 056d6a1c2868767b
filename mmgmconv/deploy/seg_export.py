"""ONNX export of mmseg segmentors (``EncoderDecoder``) with GMConv: the
tensor part that :func:`~mmgmconv.deploy.export_onnx` exports.

The graph is the tensor part of whole-image inference: normalised image
``(B, 3, H, W)`` -> class logits ``(B, num_classes, H, W)``, i.e. the
decode head's logits resized (bilinear, the head's ``align_corners``) to
the input size, as ``EncoderDecoder.predict`` computes them before the
per-image crop to the unpadded size and the argmax. Batch, height and width
are dynamic. Every S-GMConv is folded first and D-GMConv runs its
batch-independent form, as for classifiers and detectors
(:mod:`mmgmconv.deploy.onnx_export`). Slide inference (``test_cfg.mode=
'slide'``) runs this graph per window; the windows are left to the caller.
Padding, unpadding and the argmax stay outside the graph: that is our
choice, as for detectors.

Adaptive average pooling to a grid larger than 1x1 (PSPNet's pyramid
pooling module) has no ONNX form for a dynamic input size in the
TorchScript exporter, so such segmentors are refused with an error naming
the layer (DeepLabV3+'s image pooling, to 1x1, exports).
"""
import torch.nn.functional as F
from torch import Tensor, nn


def is_segmentor(model: nn.Module) -> bool:
    """Whether ``model`` is an mmseg encoder-decoder segmentor."""
    return hasattr(model, 'decode_head') and hasattr(model, 'extract_feat')


class SegmentorLogits(nn.Module):
    """``forward(img)`` = class logits ``(B, num_classes, H, W)`` at the
    size of ``img``."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        if not is_segmentor(segmentor):
            raise TypeError(f'expected an mmseg segmentor (with decode_head),'
                            f' got {type(segmentor).__name__}')
        self.segmentor = segmentor

    def forward(self, img: Tensor) -> Tensor:
        logits = self.segmentor.decode_head(
            self.segmentor.extract_feat(img))
        return F.interpolate(
            logits, size=img.shape[2:], mode='bilinear',
            align_corners=self.segmentor.decode_head.align_corners)


def check_dynamic_size_exportable(model: nn.Module) -> None:
    """Raise ``ValueError`` naming the first ``AdaptiveAvgPool2d`` /
    ``AdaptiveMaxPool2d`` of ``model`` whose output is larger than 1x1."""
    for name, module in model.named_modules():
        if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            size = module.output_size
            sizes = size if isinstance(size, (tuple, list)) else (size, size)
            if any(s != 1 for s in sizes):
                raise ValueError(
                    f'layer {name!r} pools adaptively to {size}: ONNX cannot '
                    'express that for a dynamic height and width (only '
                    'global pooling, to 1, exports). PSPNet\'s pyramid '
                    'pooling is such a layer; export a segmentor without it '
                    '(e.g. DeepLabV3+)')
