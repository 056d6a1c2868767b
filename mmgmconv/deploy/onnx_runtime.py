"""Run exported GMConv graphs with onnxruntime in place of the PyTorch
tensor parts, with mmdet's / mmpretrain's own post-processing.

:func:`build_ort_model` turns a model built from its config (weights not
needed: every weight that computes something is in the graphs) into a
model whose ``test_step`` runs the exported graph(s), so mmengine's
``Runner.test`` and evaluators work unchanged. See
:mod:`mmgmconv.deploy.onnx_export` for what each graph holds.
"""
import os.path as osp
from typing import List, Optional, Union

import numpy as np
import onnxruntime as ort
import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from ..analysis import is_detector
from .onnx_export import roi_box_heads, roi_graph_path


class OrtGraph:
    """An onnxruntime session called like a module: tensors in, tensors out.

    Every output must be finite: a NaN or an infinity is a ``ValueError``
    naming the graph and the output, so that no metric, detection or
    comparison is computed from it.

    Args:
        path: The ``.onnx`` file.
        threads: ``intra_op_num_threads`` (``None``: onnxruntime's default).
    """

    def __init__(self, path: str, threads: Optional[int] = None):
        if not osp.isfile(path):
            raise FileNotFoundError(f'ONNX graph {path!r} not found')
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.path = path
        self.session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run_numpy(self, *arrays: np.ndarray) -> List[np.ndarray]:
        outs = self.session.run(None, dict(zip(self.input_names, arrays)))
        bad = [
            f'{name!r} ({int((~np.isfinite(out)).sum())} of {out.size} '
            'values)' for name, out in zip(self.output_names, outs)
            if np.issubdtype(out.dtype, np.floating)
            and not np.isfinite(out).all()
        ]
        if bad:
            raise ValueError(f'ONNX graph {self.path}: non-finite (NaN or '
                             f'inf) outputs {", ".join(bad)}')
        return outs

    def __call__(self, *tensors: Tensor) -> Union[Tensor, tuple]:
        outs = self.run_numpy(
            *(t.detach().float().cpu().numpy() for t in tensors))
        outs = tuple(torch.from_numpy(o) for o in outs)
        return outs[0] if len(outs) == 1 else outs


def graph_kind(output_names: List[str]) -> str:
    """What exported graph has outputs ``output_names`` (the names
    :mod:`~mmgmconv.deploy.onnx_export` gives each kind)."""
    if any(name.startswith('feat.') for name in output_names):
        return "a detector's dense graph"
    if output_names == ['logits']:
        return "a classifier's graph"
    if output_names == ['seg_logits']:
        return "a segmentor's graph"
    if output_names and all(n.startswith('out.') for n in output_names):
        return "a two-stage detector's RoI box-head graph"
    if output_names and all(n.split('.')[0] == 'output'
                            for n in output_names):
        return "a plain PyTorch model's graph"
    return 'not a graph written by tools/deploy/export_onnx.py'


def wrong_graph(graph: OrtGraph, model: nn.Module, expected: str) -> str:
    """The error message for ``graph`` given to a ``model`` that needs
    ``expected``: what the graph is, its inputs and outputs."""
    inputs = ', '.join(f"'{i.name}' ({', '.join(map(str, i.shape))})"
                       for i in graph.session.get_inputs())
    outputs = ', '.join(f"'{name}'" for name in graph.output_names)
    return (f'{graph.path} is {graph_kind(graph.output_names)} (inputs '
            f'{inputs}; outputs {outputs}), but the config\'s '
            f'model is a {type(model).__name__}, which needs {expected}: '
            'give the graph tools/deploy/export_onnx.py wrote for this '
            'config')


class OrtClassifier(BaseModel):
    """An mmpretrain classifier whose logits come from an ONNX graph."""

    def __init__(self, classifier: nn.Module, path: str):
        super().__init__(data_preprocessor=classifier.data_preprocessor)
        self.classifier = classifier
        self.graph = OrtGraph(path)
        if self.graph.output_names != ['logits']:
            raise ValueError(wrong_graph(
                self.graph, classifier, "a classifier's graph (input "
                "'input' (batch, 3, height, width), output 'logits')"))

    def forward(self, inputs: Tensor, data_samples=None, mode='predict'):
        if mode != 'predict':
            raise ValueError(f"an ONNX model only predicts, got mode={mode!r}")
        # the head's own conversion of logits to scores and labels
        return self.classifier.head._get_predictions(
            self.graph(inputs), data_samples)


class OrtDetector(BaseModel):
    """An mmdet detector whose dense part (and RoI box heads) run as ONNX
    graphs; anchors, decoding, NMS and RoIAlign are mmdet's own code, called
    as ``TwoStageDetector.predict`` / ``SingleStageDetector.predict`` do."""

    def __init__(self, detector: nn.Module, path: str):
        super().__init__(data_preprocessor=detector.data_preprocessor)
        self.detector = detector
        self.dense = OrtGraph(path)
        names = self.dense.output_names
        self.num_levels = sum(n.startswith('feat.') for n in names)
        groups = [n for n in names if n.startswith('head.')]
        self.head_groups = len({n.split('.')[1] for n in groups})
        if self.num_levels == 0 or len(groups) != (self.head_groups *
                                                   self.num_levels):
            raise ValueError(wrong_graph(
                self.dense, detector, "a detector's dense graph (input "
                "'input' (batch, 3, height, width), outputs 'feat.{level}' "
                "and 'head.{group}.{level}')"))
        self.two_stage = getattr(detector, 'with_rpn', False)
        for name, (head, _) in roi_box_heads(detector).items():
            # the box head's forward becomes its RoI graph; the rest of the
            # RoI head (RoIAlign, decoding, NMS, cascade refinement) is mmdet
            head.forward = OrtGraph(roi_graph_path(path, name))

    def forward(self, inputs: Tensor, data_samples=None, mode='predict'):
        if mode != 'predict':
            raise ValueError(f"an ONNX model only predicts, got mode={mode!r}")
        outs = self.dense(inputs)
        levels = self.num_levels
        feats = outs[:levels]
        head_outs = [
            list(outs[levels * (g + 1):levels * (g + 2)])
            for g in range(self.head_groups)
        ]
        metas = [sample.metainfo for sample in data_samples]
        det = self.detector
        if self.two_stage:
            proposals = det.rpn_head.predict_by_feat(
                *head_outs, batch_img_metas=metas, rescale=False)
            results = det.roi_head.predict(feats, proposals, data_samples,
                                           rescale=True)
        else:
            results = det.bbox_head.predict_by_feat(
                *head_outs, batch_img_metas=metas, rescale=True)
        return det.add_pred_to_datasample(data_samples, results)


def build_ort_model(model: nn.Module, path: str) -> BaseModel:
    """``model`` (built from its config) running the graphs at ``path``."""
    model.eval()
    if is_detector(model):
        return OrtDetector(model, path).eval()
    return OrtClassifier(model, path).eval()
