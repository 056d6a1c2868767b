"""Export GMConv models to ONNX with standard operators.

What goes into ONNX is the tensor part of a model, after every S-GMConv is
folded into a plain conv (``fuse_gmconv``, zero inference cost) and with
D-GMConv running its batch-independent form (chosen by the layer itself
during export):

- a plain PyTorch module (e.g. a torchvision or timm model after
  :func:`~mmgmconv.convert_to_gmconv`): one graph, ``module(input)`` ->
  its output tensor(s) (``output``, or ``output.0``, ``output.1``, ... for
  a tuple or list; nested ones as ``output.0.1``);
- a classifier (mmpretrain, any mmengine ``BaseModel`` that is not a
  detector): one graph, normalised image -> ``model(img, mode='tensor')``
  (output ``logits``);
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

All graphs have a dynamic batch axis (RoI graphs: a dynamic RoI count) and,
unless ``dynamic_size=False``, dynamic height and width. They are exported
by the TorchScript exporter (``dynamo=False``), our choice: torch's default
dynamo exporter needs the extra package ``onnxscript`` and specialises a
batch of 1, while the TorchScript exporter exports every GMConv layer
(the D-GMConv stem at any batch included) with the packages of the
``deploy`` extra.

Nothing wrong is written: the model's weights and its outputs on the
example input must be finite, each graph must pass ``onnx.checker`` and use
standard operators only, and an existing file is never replaced unless
``force=True``; each file is written to a temporary name in its folder and
renamed, so a crash leaves the old file or the complete new one.
"""
import copy
import io
import math
import os
import os.path as osp
from typing import Dict, Iterable, List, Sequence, Tuple

import onnx
import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from ..analysis import is_detector
from ..atomic_write import atomic_open
from ..ops import fuse_gmconv
from .seg_export import (
    SegmentorLogits,
    check_dynamic_size_exportable,
    is_segmentor,
)

#: Operator domains of standard ONNX (the empty name is ``ai.onnx``).
STANDARD_DOMAINS = ('', 'ai.onnx')
#: RoI heads whose box heads are exported as RoI graphs.
SUPPORTED_ROI_HEADS = ('StandardRoIHead', 'CascadeRoIHead')
#: Opset versions ``export_onnx`` accepts: those the TorchScript exporter
#: of torch writes (7 to 20; onnx and onnxruntime read them all). The
#: GMConv classifiers and detectors here need at least 10 (strided slices,
#: ``Resize``); a lower one is the exporter's error naming the operator.
SUPPORTED_OPSETS = range(7, 21)
#: The most values (batch x channels x spatial sizes) an example input may
#: have: 2**27, 512 MiB in float32 (our choice). The export runs the model
#: on it, and the activations take many times the input's memory; a larger
#: input is refused with its size before anything is built.
MAX_EXAMPLE_VALUES = 2**27
#: Names of the dynamic spatial axes of the input, by spatial dimensions.
SPATIAL_AXES = {
    1: ('length', ),
    2: ('height', 'width'),
    3: ('depth', 'height', 'width')
}


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
    return extractor(feats[:extractor.num_inputs], rois.to(feats[0].device))


def exported_parts(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(module path, module)`` of every part of ``model`` that goes into
    a graph: the whole model unless it is a detector, else its backbone,
    neck, RPN or dense head and RoI box heads (not its RoI extractors:
    RoIAlign runs in PyTorch)."""
    if not is_detector(model):
        return [('', model)]
    parts = [('backbone', model.backbone)]
    if getattr(model, 'with_neck', False):
        parts.append(('neck', model.neck))
    parts.append((dense_head_name(model),
                  getattr(model, dense_head_name(model))))
    return parts + [(name, head)
                    for name, (head, _) in roi_box_heads(model).items()]


def check_finite(tensors: Iterable[Tuple[str, Tensor]], what: str) -> None:
    """Raise ``ValueError`` naming every floating-point tensor of
    ``(name, tensor)`` pairs that holds a NaN or an infinity: ``what`` says
    what they are (``'weight'``, ``'output'``)."""
    bad = [
        f'{name} ({int((~torch.isfinite(t)).sum())} of {t.numel()} values)'
        for name, t in tensors
        if t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]
    if bad:
        raise ValueError(f'non-finite (NaN or inf) {what}: ' +
                         ', '.join(bad))


def prepare_for_export(model: nn.Module) -> nn.Module:
    """Eval mode, on the CPU, every S-GMConv folded, unsupported layers and
    non-finite weights (parameters and buffers of the exported parts)
    refused.

    Works on (and returns) a deep copy; ``model`` (on any device) is left
    unfolded, as the reference
    :func:`~mmgmconv.deploy.onnx_verify.max_abs_diff` compares against.
    The graphs do not depend on the device they were traced on; tracing on
    the CPU lets a model trained on a GPU export with the CPU input.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got {type(model)!r}')
    for prefix, part in exported_parts(model):
        check_exportable(part, prefix)
        check_finite(
            part.state_dict(prefix=f'{prefix}.' if prefix else '').items(),
            'weights in the model')
    return fuse_gmconv(copy.deepcopy(model).cpu().eval())


def tensor_forward(model: nn.Module) -> nn.Module:
    """The module whose ``forward(input)`` the (dense) graph computes:
    :class:`DenseDetector` for a detector, :class:`ClassifierLogits` for
    another mmengine ``BaseModel``, ``model`` itself for a plain module."""
    if is_detector(model):
        return DenseDetector(model)
    if is_segmentor(model):
        return SegmentorLogits(model)
    if isinstance(model, BaseModel):
        return ClassifierLogits(model)
    return model


def named_outputs(outs, prefix: str) -> List[Tuple[str, Tensor]]:
    """``(name, tensor)`` of each tensor of ``outs`` (a tensor or nested
    tuples and lists of them) in the order the exporter flattens them:
    ``prefix`` for a tensor, ``prefix.{i}...`` inside a tuple or list."""
    if isinstance(outs, Tensor):
        return [(prefix, outs)]
    if isinstance(outs, (tuple, list)):
        return [
            named for i, out in enumerate(outs)
            for named in named_outputs(out, f'{prefix}.{i}')
        ]
    raise TypeError(f'output {prefix!r} is a {type(outs).__name__}; ONNX '
                    'export takes a module that returns a tensor or (nested) '
                    'tuples or lists of tensors (wrap the model in a module '
                    'that returns those)')


def graph_outputs(model: nn.Module, outs) -> List[Tuple[str, Tensor]]:
    """``(output name, tensor)`` of the graph of ``tensor_forward(model)``
    whose PyTorch outputs are ``outs``."""
    if is_detector(model):
        return [(name, tensor) for name, (_, tensor) in zip(
            dense_output_names(*outs), named_outputs(outs, 'dense'))]
    if is_segmentor(model):
        return named_outputs(outs, 'seg_logits')
    prefix = 'logits' if isinstance(model, BaseModel) else 'output'
    return named_outputs(outs, prefix)


def check_opset(opset: int) -> None:
    """Raise ``ValueError`` unless ``opset`` is in :data:`SUPPORTED_OPSETS`."""
    if isinstance(opset, bool) or not isinstance(
            opset, int) or opset not in SUPPORTED_OPSETS:
        raise ValueError(
            f'opset must be an integer from {SUPPORTED_OPSETS.start} to '
            f'{SUPPORTED_OPSETS.stop - 1} (the versions the TorchScript '
            f'exporter of torch writes; default 17), got {opset!r}')


def export_graph(module: nn.Module, example: Tensor,
                 outputs: List[Tuple[str, Tensor]], spatial_axes: bool,
                 opset: int) -> bytes:
    """``module(example)`` as a serialised ONNX graph (input ``input``,
    dynamic batch, and dynamic spatial axes if ``spatial_axes``: the axes
    after the channels of ``example``, named as in :data:`SPATIAL_AXES`),
    after checking the outputs ``(name, tensor)`` of ``module(example)``
    are finite, and the graph with ``onnx.checker`` and for standard
    operators.
    """
    check_finite(outputs, 'output on the example input')
    output_names = [name for name, _ in outputs]
    axes = {0: 'batch'}
    if spatial_axes:
        axes.update(enumerate(SPATIAL_AXES[example.dim() - 2], start=2))
    dynamic_axes = {'input': axes, **{n: {0: 'batch'} for n in output_names}}
    buffer = io.BytesIO()
    try:
        torch.onnx.export(module, (example, ), buffer, input_names=['input'],
                          output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=opset,
                          dynamo=False)
    except torch.onnx.errors.OnnxExporterError as error:
        raise ValueError(f'the TorchScript exporter cannot export '
                         f'{type(module).__name__} at opset {opset}: '
                         f'{error}') from error
    graph = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(graph)
    check_standard_domains(graph)
    return buffer.getvalue()


def graph_paths(model: nn.Module, out: str) -> List[str]:
    """The files :func:`export_onnx` writes for ``model``: ``[out]``, and
    for a two-stage detector one RoI graph per box head after it."""
    if not is_detector(model):
        return [out]
    return [out] + [roi_graph_path(out, name) for name in roi_box_heads(model)]


def check_example_size(shape: Sequence[int]) -> None:
    """Raise ``ValueError`` if an input of ``shape`` (batch included) has
    more than :data:`MAX_EXAMPLE_VALUES` values, naming its float32 size."""
    values = math.prod(shape)
    if values > MAX_EXAMPLE_VALUES:
        raise ValueError(
            f'an input of shape {tuple(shape)} has {values:,} values '
            f'({values * 4 / 2**30:,.1f} GiB in float32, and the model\'s '
            f'activations take many times more); the export takes at most '
            f'{MAX_EXAMPLE_VALUES:,} values ({MAX_EXAMPLE_VALUES * 4 // 2**20}'
            ' MiB, our limit): give a smaller shape or batch (with a dynamic '
            'size the graph accepts other sizes)')


def example_input(shape: Sequence[int],
                  batch: int,
                  spatial_dims: int = 2) -> Tensor:
    """A random ``(batch, C, H, W)`` input, ``shape`` = ``(H, W)`` (three
    channels) or ``(C, H, W)``; raises ``ValueError`` for other shapes.
    With ``spatial_dims`` 1 or 3: ``(batch, C, L)`` from ``(L,)`` or
    ``(C, L)``, ``(batch, C, T, H, W)`` from ``(T, H, W)`` or
    ``(C, T, H, W)``."""
    if spatial_dims not in SPATIAL_AXES:
        raise ValueError(f'spatial_dims must be 1, 2 or 3, got '
                         f'{spatial_dims!r}')
    if (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1
            or len(shape) not in (spatial_dims, spatial_dims + 1)
            or not all(isinstance(s, int) and s >= 1 for s in shape)):
        spatial = ', '.join(a[0].upper() for a in SPATIAL_AXES[spatial_dims])
        raise ValueError(f'shape must be ({spatial}) or (C, {spatial}) of '
                         f'positive integers (spatial_dims={spatial_dims}) '
                         f'and batch a positive integer, got shape '
                         f'{tuple(shape)!r} and batch {batch!r}')
    shape = tuple(shape) if len(shape) == spatial_dims + 1 else (3, *shape)
    check_example_size((batch, *shape))
    return torch.randn(batch, *shape,
                       generator=torch.Generator().manual_seed(batch))


def export_onnx(model: nn.Module,
                out: str,
                shape: Sequence[int] = (224, 224),
                batch: int = 2,
                opset: int = 17,
                force: bool = False,
                dynamic_size: bool = True,
                spatial_dims: int = 2) -> List[str]:
    """Export ``model`` (a plain module, classifier or detector) and return
    the paths written: ``[out]``, followed for a two-stage detector by one
    RoI graph per box head.

    Nothing is written if a check fails: a weight (parameter or buffer) or
    an output on the example input that is not finite, a layer standard
    ONNX cannot express, a graph ``onnx.checker`` rejects, or an existing
    file among the paths (unless ``force``). Compare the graphs with the
    PyTorch model at other batch sizes with
    :func:`~mmgmconv.deploy.onnx_verify.max_abs_diff`.

    Args:
        model: Not modified. A plain ``nn.Module`` (e.g. a timm or
            torchvision model after ``convert_to_gmconv``) whose
            ``forward(x)`` takes one ``(B, C, H, W)`` tensor (``(B, C, L)``
            or ``(B, C, T, H, W)`` with ``spatial_dims`` 1 or 3) and
            returns a tensor or tuples or lists of tensors; an mmpretrain
            classifier, an mmdet detector or an mmseg segmentor.
        out: Path of the (dense) graph; a missing folder is created.
        shape: ``(H, W)`` (three channels) or ``(C, H, W)`` of the example
            input. With ``dynamic_size`` the graphs accept other sizes.
        batch: Batch size of the example input (the graphs accept others).
        opset: ONNX opset version, in :data:`SUPPORTED_OPSETS`.
        force: Replace existing files at the paths.
        dynamic_size: Make the input's height and width dynamic axes. Set
            it to False for a model that only works at one input size
            (e.g. a vision transformer with fixed position embeddings).
        spatial_dims: 2 for images; 1 for sequences (``shape`` ``(L,)``
            or ``(C, L)``, dynamic axis ``length``) and 3 for video and
            volumes (``shape`` ``(T, H, W)`` or ``(C, T, H, W)``, dynamic
            axes ``depth``, ``height``, ``width``), plain modules only.
    """
    check_opset(opset)
    example = example_input(shape, batch, spatial_dims)
    if spatial_dims != 2 and isinstance(model, BaseModel):
        raise ValueError(f'spatial_dims={spatial_dims} is for plain '
                         f'PyTorch modules; {type(model).__name__} is an '
                         f'mmengine model, exported with 2D images')
    if is_segmentor(model) and dynamic_size:
        check_dynamic_size_exportable(model)
    folded = prepare_for_export(model)
    paths = graph_paths(folded, out)
    existing = [path for path in paths if osp.lexists(path)]
    if existing and not force:
        raise FileExistsError(
            f'refusing to overwrite existing file(s) {existing} (pass '
            f'force=True, --force in tools/deploy/export_onnx.py, or choose '
            f'another OUT); the export would write {paths}')
    graphs = []
    with torch.no_grad():
        forward = tensor_forward(folded)
        outs = forward(example)
        graphs.append(
            export_graph(forward, example, graph_outputs(folded, outs),
                         dynamic_size, opset))
        if is_detector(folded):
            feats = outs[0]
            for name, (head, extractor) in roi_box_heads(folded).items():
                rois = example_roi_feats(extractor, feats, 2 * batch)
                head_outs = head(rois)
                graphs.append(
                    export_graph(
                        head, rois,
                        [(f'out.{i}', t)
                         for i, t in enumerate(head_outs)], False, opset))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    for path, graph in zip(paths, graphs):
        with atomic_open(path, 'wb') as f:  # the umask's permissions
            f.write(graph)
    return paths
