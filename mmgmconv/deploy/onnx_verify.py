"""Compare exported graphs under onnxruntime with the PyTorch model."""
from typing import List, Sequence, Tuple

import torch
from torch import nn

from ..analysis import is_detector
from .onnx_export import (
    example_input,
    example_roi_feats,
    graph_outputs,
    named_outputs,
    roi_box_heads,
    roi_graph_path,
    tensor_forward,
)
from .onnx_runtime import OrtGraph


def _max_diff(graph: OrtGraph, expected: List[Tuple[str, torch.Tensor]],
              x: torch.Tensor) -> float:
    """Largest absolute difference between ``graph(x)`` and the PyTorch
    outputs ``expected`` (``(name, tensor)``); ``ValueError`` if the
    output counts or shapes differ or a PyTorch output is not finite (a
    graph output that is not finite is :class:`OrtGraph`'s error)."""
    bad = [name for name, t in expected if not bool(torch.isfinite(t).all())]
    if bad:
        raise ValueError(f'the PyTorch model gives non-finite (NaN or inf) '
                         f'outputs {bad}; nothing to compare the graph with')
    expected = [(name, t.cpu()) for name, t in expected]
    got = [t for _, t in named_outputs(graph(x), 'graph')]
    if len(got) != len(expected):
        raise ValueError(f'{graph.path} has {len(got)} outputs, the model '
                         f'{len(expected)}')
    diff = 0.0
    for g, (name, e) in zip(got, expected):
        if g.shape != e.shape:
            raise ValueError(f'{graph.path}: output {name!r} has shape '
                             f'{tuple(g.shape)}, the model '
                             f'{tuple(e.shape)}')
        if e.numel():
            diff = max(diff, float((g - e).abs().max()))
    return diff


@torch.no_grad()
def max_abs_diff(model: nn.Module,
                 path: str,
                 shape: Sequence[int],
                 batch: int,
                 spatial_dims: int = 2) -> float:
    """Largest absolute difference between the graph(s) exported to
    ``path`` by :func:`~mmgmconv.deploy.export_onnx` under onnxruntime and
    ``model`` (unfolded, eval mode) on a random ``(batch, C, H, W)`` input,
    ``shape`` = ``(H, W)`` (three channels) or ``(C, H, W)``; RoI graphs
    are compared on ``2 * batch + 1`` RoIs of that input. Raises
    ``ValueError`` naming the output if either side is not finite.
    ``spatial_dims`` (1 or 3 for a 1D / 3D model) and ``shape`` as in
    :func:`~mmgmconv.deploy.export_onnx`."""
    model.eval()
    x = example_input(shape, batch, spatial_dims)
    device = next(model.parameters(), x).device
    forward = tensor_forward(model)
    diff = _max_diff(OrtGraph(path),
                     graph_outputs(model, forward(x.to(device))), x)
    if not is_detector(model):
        return diff
    feats = model.extract_feat(x.to(device))
    for name, (head, extractor) in roi_box_heads(model).items():
        rois = example_roi_feats(extractor, feats, 2 * batch + 1)
        expected = [(f'out.{i}', t) for i, t in enumerate(head(rois))]
        diff = max(
            diff,
            _max_diff(OrtGraph(roi_graph_path(path, name)), expected, rois))
    return diff
