"""Compare exported graphs under onnxruntime with the PyTorch model."""
from typing import List, Tuple

import torch
from torch import nn

from ..analysis import is_detector
from .onnx_export import (ClassifierLogits, DenseDetector, example_roi_feats,
                          roi_box_heads, roi_graph_path)
from .onnx_runtime import OrtGraph
from .seg_export import SegmentorLogits, is_segmentor


def _flatten(outs) -> List[torch.Tensor]:
    if isinstance(outs, torch.Tensor):
        return [outs]
    return [t for o in outs for t in _flatten(o)]


def _max_diff(graph: OrtGraph, module: nn.Module, x: torch.Tensor) -> float:
    expected = _flatten(module(x))
    got = _flatten(graph(x))
    if len(got) != len(expected):
        raise ValueError(f'the graph has {len(got)} outputs, the model '
                         f'{len(expected)}')
    return max(float((g - e).abs().max()) if e.numel() else 0.0
               for g, e in zip(got, expected))


@torch.no_grad()
def max_abs_diff(model: nn.Module, path: str, shape: Tuple[int, int],
                 batch: int) -> float:
    """Largest absolute difference between the graph(s) exported to
    ``path`` under onnxruntime and ``model`` (unfolded, eval mode) on a
    random ``(batch, 3, *shape)`` input; RoI graphs are compared on
    ``2 * batch + 1`` RoIs of that input."""
    model.eval()
    x = torch.randn(batch, 3, *shape,
                    generator=torch.Generator().manual_seed(batch))
    if is_segmentor(model):
        return _max_diff(OrtGraph(path), SegmentorLogits(model), x)
    if not is_detector(model):
        return _max_diff(OrtGraph(path), ClassifierLogits(model), x)
    diff = _max_diff(OrtGraph(path), DenseDetector(model), x)
    feats = model.extract_feat(x)
    for name, (head, extractor) in roi_box_heads(model).items():
        rois = example_roi_feats(extractor, feats, 2 * batch + 1)
        diff = max(diff,
                   _max_diff(OrtGraph(roi_graph_path(path, name)), head, rois))
    return diff
