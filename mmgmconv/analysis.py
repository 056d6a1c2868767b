"""Shared helpers for tools/analysis: a model's tensor path, its size."""
from mmengine.analysis import get_model_complexity_info
from torch import nn

from .ops import SGMConv, named_gmconv_layers


def is_detector(model: nn.Module) -> bool:
    """Whether ``model`` is an mmdet two-stage or single-stage detector."""
    return hasattr(model, 'rpn_head') or hasattr(model, 'roi_head') or \
        hasattr(model, 'bbox_head')


class FeatureForward(nn.Module):
    """``forward(x)`` = the model's tensor path: features of a detector
    (``extract_feat``: backbone and neck), logits of a classifier."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        if is_detector(self.model):
            return self.model.extract_feat(x)
        return self.model(x, mode='tensor')


def gmconv_param_count(model: nn.Module) -> int:
    """Parameters that exist only because of GMConv (sigmas, predictors)."""
    total = 0
    for _, m in named_gmconv_layers(model):
        params = [m.sigma] if isinstance(m, SGMConv) else \
            m.sigma_predictor.parameters()
        total += sum(p.numel() for p in params)
    return total


def complexity(model: nn.Module, shape) -> dict:
    """Params, GMConv-only params and FLOPs of ``model`` on ``(3, H, W)``."""
    model.eval()
    info = get_model_complexity_info(FeatureForward(model), input_shape=shape,
                                     show_table=False, show_arch=False)
    return dict(params=sum(p.numel() for p in model.parameters()),
                gmconv_params=gmconv_param_count(model), flops=info['flops'])
