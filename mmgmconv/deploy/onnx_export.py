"""Export GMConv classifiers and detectors to ONNX with standard operators.

What goes into ONNX is the tensor part of a model, after every S-GMConv is
folded into a plain conv (``fuse_gmconv``, zero inference cost) and with
D-GMConv running its batch-independent form (chosen by the layer itself
during export):

- a classifier (mmpretrain): one graph, normalised image -> logits;
- a detector (mmdet): one *dense* graph, normalised padded image ->
  the neck's features (outputs ``feat.{level}``) and the raw outputs of the
  RPN head (two-stage) or of the dense head (single-stage) (outputs
  ``head.{group}.{level}``, e.g. group 0 = class scores, 1 = box deltas),
  plus, for two-stage detectors, one *RoI* graph per box head of the RoI
  head: RoI features ``(N, C, h, w)`` -> class scores and box deltas,
  written next to the dense graph as ``OUT.<module path>.onnx``
  (e.g. ``OUT.roi_head.bbox_head.onnx``).

Anchors, box decoding, NMS and RoIAlign stay outside the graphs and are run
by mmdet's own code (:mod:`mmgmconv.deploy.onnx_runtime`): mmcv's ``nms``
traced by the TorchScript exporter gives silently wrong results, and
keeping mmdet's post-processing makes the detections equal those of
``model.predict``. This split is our choice; the paper does not discuss
deployment.

All graphs have a dynamic batch axis (RoI graphs: a dynamic RoI count) and
dynamic height and width, and are exported by the TorchScript exporter
(``dynamo=False``): the dynamo exporter needs ``onnxscript`` and
specialises a batch of 1.
"""
import copy
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import onnx
import torch
from torch import Tensor, nn

from ..analysis import is_detector
from ..ops import fuse_gmconv

#: Operator domains of standard ONNX (the empty name is ``ai.onnx``).
STANDARD_DOMAINS = ('', 'ai.onnx')
#: RoI heads whose box heads are exported as RoI graphs.
SUPPORTED_ROI_HEADS = ('StandardRoIHead', 'CascadeRoIHead')


def check_exportable(model: nn.Module, prefix: str = '') -> None:
    """Raise ``ValueError`` naming the first layer standard ONNX cannot
    express: any mmcv op (``DeformConv2d``, ``ModulatedDeformConv2d`` and
    the other layers of ``mmcv.ops``), which exports only as an mmcv custom
    operator or not at all."""
    for name, module in model.named_modules(prefix=prefix):
        cls = type(module)
        if cls.__module__.startswith('mmcv.ops'):
            raise ValueError(
                f'layer {name!r} is {cls.__module__}.{cls.__qualname__}, '
                'which standard ONNX cannot express (mmcv exports it only '
                'as a custom operator); export a config without it (plain '
                'conv, S-GMConv or D-GMConv layers export)')


def check_standard_domains(graph: onnx.ModelProto) -> None:
    """Raise ``ValueError`` if ``graph`` uses a custom operator domain."""
    custom = sorted({
        f'{node.domain}::{node.op_type}'
        for node in graph.graph.node if node.domain not in STANDARD_DOMAINS
    } | {
        opset.domain
        for opset in graph.opset_import if opset.domain not in STANDARD_DOMAINS
    })
    if custom:
        raise ValueError(f'the graph uses custom operators {custom}; only '
                         f'the standard domains {STANDARD_DOMAINS} are '
                         'allowed')


class ClassifierLogits(nn.Module):
    """``forward(img)`` = the classifier's logits ``(B, num_classes)``."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, img: Tensor) -> Tensor:
        return self.classifier(img, mode='tensor')


def dense_head_name(detector: nn.Module) -> str:
    """``'rpn_head'`` for a two-stage detector, else ``'bbox_head'``."""
    return 'rpn_head' if getattr(detector, 'with_rpn', False) else 'bbox_head'


class DenseDetector(nn.Module):
    """The dense part of a detector: ``forward(img)`` returns the neck's
    features (one ``(B, C, H_l, W_l)`` tensor per level) and the raw outputs
    of the RPN head or dense head (groups of per-level tensors, as
    ``head.forward`` returns them)."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        self.head = getattr(detector, dense_head_name(detector))

    def forward(self, img: Tensor) -> Tuple[Tuple[Tensor], Tuple[list]]:
        feats = self.detector.extract_feat(img)
        return tuple(feats), tuple(self.head(feats))


def dense_output_names(feats: Sequence[Tensor],
                       head_outs: Sequence[Sequence[Tensor]]) -> List[str]:
    """``feat.{level}`` and ``head.{group}.{level}``, in output order."""
    return [f'feat.{i}' for i in range(len(feats))] + [
        f'head.{g}.{i}' for g, group in enumerate(head_outs)
        for i in range(len(group))
    ]


def roi_graph_path(dense_path: str, module_name: str) -> str:
    """Where the RoI graph of ``module_name`` is written, next to
    ``dense_path``: ``OUT.onnx`` -> ``OUT.<module_name>.onnx``."""
    return f'{osp.splitext(dense_path)[0]}.{module_name}.onnx'


def roi_box_heads(detector: nn.Module) -> Dict[str, Tuple[nn.Module,
                                                          nn.Module]]:
    """``{module path: (box head, its RoI extractor)}`` of a two-stage
    detector's RoI head; ``{}`` for a single-stage detector."""
    roi_head = getattr(detector, 'roi_head', None)
    if roi_head is None:
        return {}
    kind = type(roi_head).__name__
    if kind not in SUPPORTED_ROI_HEADS or roi_head.with_mask or getattr(
            roi_head, 'with_shared_head', False):
        raise ValueError(
            f'ONNX export supports the box-only RoI heads '
            f'{SUPPORTED_ROI_HEADS}; this detector has a {kind}' +
            (' with a mask head' if roi_head.with_mask else '') +
            (' with a shared head' if getattr(roi_head, 'with_shared_head',
                                              False) else ''))
    heads, extractors = roi_head.bbox_head, roi_head.bbox_roi_extractor
    if isinstance(heads, nn.ModuleList):
        return {
            f'roi_head.bbox_head.{i}': (head, extractor)
            for i, (head, extractor) in enumerate(zip(heads, extractors))
        }
    return {'roi_head.bbox_head': (heads, extractors)}


def example_roi_feats(extractor: nn.Module, feats: Sequence[Tensor],
                      num_rois: int) -> Tensor:
    """RoI features ``(num_rois, C, h, w)`` of ``num_rois`` boxes on
    ``feats``, computed by the detector's own RoI extractor."""
    height, width = (s * extractor.featmap_strides[0]
                     for s in feats[0].shape[2:])
    gen = torch.Generator().manual_seed(num_rois)
    xy = torch.rand(num_rois, 2, generator=gen) * torch.tensor(
        [width, height]) * 0.7
    wh = (torch.rand(num_rois, 2, generator=gen) * 0.3 + 0.05) * torch.tensor(
        [width, height])
    rois = torch.cat([torch.zeros(num_rois, 1), xy, xy + wh], dim=1)
    return extractor(feats[:extractor.num_inputs], rois)


def exported_parts(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(module path, module)`` of every part of ``model`` that goes into
    a graph: the whole classifier, or a detector's backbone, neck, RPN or
    dense head and RoI box heads (not its RoI extractors: RoIAlign runs in
    PyTorch)."""
    if not is_detector(model):
        return [('', model)]
    parts = [('backbone', model.backbone)]
    if getattr(model, 'with_neck', False):
        parts.append(('neck', model.neck))
    parts.append((dense_head_name(model),
                  getattr(model, dense_head_name(model))))
    return parts + [(name, head)
                    for name, (head, _) in roi_box_heads(model).items()]


def prepare_for_export(model: nn.Module) -> nn.Module:
    """Eval mode, every S-GMConv folded, unsupported layers refused.

    Works on (and returns) a deep copy; ``model`` is left unfolded, as the
    reference :func:`~mmgmconv.deploy.onnx_verify.max_abs_diff` compares
    against.
    """
    folded = fuse_gmconv(copy.deepcopy(model).eval())
    for prefix, part in exported_parts(folded):
        check_exportable(part, prefix)
    return folded


def export_graph(module: nn.Module, example: Tensor, path: str,
                 output_names: List[str], spatial_axes: bool,
                 opset: int = 17) -> None:
    """Export ``module(example)`` to ``path`` (input ``input``, dynamic
    batch, and dynamic height and width if ``spatial_axes``), then check the
    file and that it uses standard operators only."""
    axes = {0: 'batch'}
    if spatial_axes:
        axes.update({2: 'height', 3: 'width'})
    dynamic_axes = {'input': axes, **{n: {0: 'batch'} for n in output_names}}
    torch.onnx.export(module, (example, ), path, input_names=['input'],
                      output_names=output_names, dynamic_axes=dynamic_axes,
                      opset_version=opset, dynamo=False)
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    check_standard_domains(graph)


def export_onnx(model: nn.Module, out: str, shape: Tuple[int, int] = (224,
                                                                       224),
                batch: int = 2, opset: int = 17) -> List[str]:
    """Export ``model`` (classifier or detector) and return the paths
    written: ``[out]`` for a classifier or single-stage detector, ``[out]``
    followed by one RoI graph per box head for a two-stage detector.

    Args:
        model: An mmpretrain classifier or mmdet detector (not modified);
            an mmseg segmentor goes to
            :func:`~mmgmconv.deploy.seg_export.export_segmentor_onnx`.
        out: Path of the (dense) graph.
        shape: ``(H, W)`` of the example input (the graphs accept others).
        batch: Batch size of the example input (the graphs accept others).
        opset: ONNX opset version.
    """
    # here, not at the top: seg_export imports this module
    from .seg_export import export_segmentor_onnx, is_segmentor
    if is_segmentor(model):  # one graph: image -> full-size class logits
        return export_segmentor_onnx(model, out, shape, batch, opset)
    folded = prepare_for_export(model)
    example = torch.randn(batch, 3, *shape)
    with torch.no_grad():
        if not is_detector(folded):
            export_graph(ClassifierLogits(folded), example, out, ['logits'],
                    True, opset)
            return [out]
        dense = DenseDetector(folded)
        feats, head_outs = dense(example)
        export_graph(dense, example, out, dense_output_names(feats, head_outs),
                True, opset)
        paths = [out]
        for name, (head, extractor) in roi_box_heads(folded).items():
            path = roi_graph_path(out, name)
            rois = example_roi_feats(extractor, feats, 2 * batch)
            outputs = head(rois)
            names = [f'out.{i}' for i in range(len(outputs))]
            export_graph(head, rois, path, names, False, opset)
            paths.append(path)
    return paths
