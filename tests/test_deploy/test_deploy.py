"""ONNX export (tools/deploy/export_onnx.py) and onnxruntime evaluation
(tools/deploy/onnx_test.py) of GMConv classifiers and detectors."""
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from onnx import helper

import mmgmconv  # noqa: F401
from mmgmconv import DGMConv, SGMConv
from mmgmconv.apis import build_model_from_config
from mmgmconv.deploy import (
    OrtGraph,
    build_ort_model,
    check_exportable,
    check_standard_domains,
    export_onnx,
)
from mmgmconv.deploy.onnx_verify import max_abs_diff
from tiny_shapes import DEMO_DET, write_tiny_shapes_config

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DEMO_CLS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
GMCONV_DCN_DET = ROOT / ('configs/gmconv/faster-rcnn_r50-gmconv-stem-l1-'
                         'dconv-c3-c5_fpn_1x_coco.py')
R50_CLS = ROOT / ('configs/classification/imagenet/'
                  'resnet50-gmconv_8xb32_in1k.py')

def build_perturbed(config, seed=0, **cfg_options):
    """The config's model with non-trivial sigmas and sigma predictors (the
    last predictor FC is zero-initialised, which would make every D-GMConv
    mask the same) and non-trivial heads."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options)
    torch.manual_seed(seed)
    model = build_model_from_config(cfg)
    model.init_weights()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, SGMConv) and module.sigma is not None:
                module.sigma.uniform_(0.5, 3.0)
            elif isinstance(module, DGMConv):
                for p in module.sigma_predictor.parameters():
                    p.normal_(0, 0.5)
    return model.eval()


def per_image_sigmas(model, x):
    """Sigmas D-GMConv layers predict for ``x``: they must differ per image
    for the test to cover the per-image masks."""
    with torch.no_grad():
        model(x, mode='tensor')
    return [m.last_sigmas for m in model.modules() if isinstance(m, DGMConv)]


def assert_exports_and_matches(model, path, export_shape, checks):
    paths = export_onnx(model, str(path), shape=export_shape, batch=2)
    for p in paths:
        graph = onnx.load(p)
        assert {n.domain for n in graph.graph.node} <= {'', 'ai.onnx'}
        assert {o.domain for o in graph.opset_import} <= {'', 'ai.onnx'}
    for batch, shape in checks:
        assert max_abs_diff(model, str(path), shape, batch) < 1e-4
    return paths


def test_demo_classifier_matches_at_two_batches_and_sizes(tmp_path):
    model = build_perturbed(DEMO_CLS)
    sigmas = per_image_sigmas(model, torch.randn(3, 3, 32, 32))
    assert sigmas and not torch.allclose(sigmas[0][0], sigmas[0][1])
    assert_exports_and_matches(model, tmp_path / 'cls.onnx', (32, 32),
                               [(1, (32, 32)), (5, (40, 48))])


def test_demo_detector_matches_at_two_batches_and_sizes(tmp_path):
    model = build_perturbed(DEMO_DET)
    paths = assert_exports_and_matches(model, tmp_path / 'det.onnx',
                                       (128, 128),
                                       [(1, (96, 160)), (3, (128, 128))])
    assert [Path(p).name for p in paths
            ] == ['det.onnx', 'det.roi_head.bbox_head.onnx']


def test_resnet50_gmconv_classifier_matches(tmp_path):
    model = build_perturbed(R50_CLS)
    assert_exports_and_matches(model, tmp_path / 'r50.onnx', (32, 32),
                               [(1, (32, 32)), (3, (64, 32))])


def test_dcn_layer_is_refused_before_export(tmp_path):
    model = build_perturbed(GMCONV_DCN_DET,
                            **{'model.backbone.init_cfg': None})
    with pytest.raises(ValueError, match=r"'backbone\.layer2\.0\.conv2' is "
                       r'mmcv\.ops\.deform_conv\.DeformConv2dPack, which '
                       'standard ONNX cannot express'):
        export_onnx(model, str(tmp_path / 'dcn.onnx'), shape=(64, 64))
    assert not (tmp_path / 'dcn.onnx').exists()
    check_exportable(model.neck)  # the rest of the detector is fine


def test_custom_operator_domain_is_refused():
    node = helper.make_node('MMCVDeformConv2d', ['x'], ['y'], domain='mmcv')
    graph = helper.make_graph(
        [node], 'g', [helper.make_tensor_value_info('x', 1, [1])],
        [helper.make_tensor_value_info('y', 1, [1])])
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid('', 17), helper.make_opsetid('mmcv', 1)])
    with pytest.raises(ValueError, match=r"custom operators \['mmcv', "
                       r"'mmcv::MMCVDeformConv2d'\]"):
        check_standard_domains(model)


def test_demo_classifier_onnx_accuracy_equals_pytorch(tmp_path):
    model = build_perturbed(DEMO_CLS)
    export_onnx(model, str(tmp_path / 'cls.onnx'), shape=(32, 32))
    cfg = Config.fromfile(DEMO_CLS)
    cfg.work_dir = str(tmp_path)
    init_default_scope('mmpretrain')
    runner = Runner.from_cfg(cfg)
    runner.model.load_state_dict(model.state_dict())
    expected = runner.test()
    batch = next(iter(runner.test_dataloader))
    with torch.no_grad():
        ref = runner.model.test_step(copy.deepcopy(batch))
    runner.model = build_ort_model(build_perturbed(DEMO_CLS, seed=1),
                                   str(tmp_path / 'cls.onnx'))
    with torch.no_grad():
        out = runner.model.test_step(copy.deepcopy(batch))
    assert runner.test() == expected
    assert 0 < expected['accuracy/top5'] < 100
    for a, b in zip(ref, out):
        assert torch.equal(a.pred_label, b.pred_label)
        assert (a.pred_score - b.pred_score).abs().max() < 1e-5


def run_tool(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


def detections(samples):
    return [s.pred_instances for s in samples]


def test_demo_detector_onnx_ap_equals_pytorch_ap(tmp_path):
    cfg_path = write_tiny_shapes_config(tmp_path, num_train=1, num_val=12,
                                        batch_size=3)
    model = build_perturbed(DEMO_DET, seed=1)
    ckpt = tmp_path / 'det.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    onnx_path = tmp_path / 'det.onnx'
    proc = run_tool('tools/deploy/export_onnx.py', cfg_path, ckpt, onnx_path,
                    '--shape', 128, 128, '--verify', '--atol', '1e-4')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (f'wrote {onnx_path}\nwrote {tmp_path}/det.roi_head.bbox_head.onnx'
            f'\n') in proc.stdout
    assert 'onnxruntime vs PyTorch at batch 3, 160x160' in proc.stdout

    # PyTorch reference: mmengine's test loop with the checkpoint's model
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'torch')
    init_default_scope('mmdet')
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(str(ckpt), strict=True)
    expected = runner.test()
    assert expected['coco/bbox_mAP_50'] > 0  # not a trivial 0 == 0

    proc = run_tool('tools/deploy/onnx_test.py', cfg_path, onnx_path,
                    '--work-dir', tmp_path / 'ort')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| AP | AP50 | AP75 | APs | APm | APl |' in proc.stdout
    got = json.loads((tmp_path / 'ort/metrics.json').read_text())['metrics']
    assert got == pytest.approx(expected, abs=0)

    # and the detections themselves, image by image
    batch = next(iter(runner.test_dataloader))
    with torch.no_grad():
        ref = runner.model.test_step(copy.deepcopy(batch))
        ort_model = build_ort_model(
            build_perturbed(DEMO_DET, seed=2), str(onnx_path))
        out = ort_model.test_step(copy.deepcopy(batch))
    for a, b in zip(detections(ref), detections(out)):
        assert len(a) > 0 and len(a) == len(b)
        assert torch.equal(a.labels, b.labels)
        assert (a.bboxes - b.bboxes).abs().max() < 1e-3
        assert (a.scores - b.scores).abs().max() < 1e-4


def test_roi_graph_is_not_overwritten_without_force(tmp_path):
    model = build_perturbed(DEMO_DET)
    out = tmp_path / 'det.onnx'
    roi = tmp_path / 'det.roi_head.bbox_head.onnx'
    roi.write_bytes(b'keep')
    with pytest.raises(FileExistsError, match=r"\['[^']*det\.roi_head\."
                       r"bbox_head\.onnx'\].*would write \['[^']*det\.onnx',"
                       r" '[^']*det\.roi_head\.bbox_head\.onnx'\]"):
        export_onnx(model, str(out), shape=(64, 64))
    assert roi.read_bytes() == b'keep' and not out.exists()
    assert export_onnx(model, str(out), shape=(64, 64), force=True) == [
        str(out), str(roi)
    ]
    assert max_abs_diff(model, str(out), (64, 96), 2) < 1e-4


def write_nan_classifier_graph(path):
    """A graph ``input (B, 3, H, W) -> logits (B, 10)`` that is NaN."""
    nan = onnx.numpy_helper.from_array(
        np.full((3, 10), np.nan, dtype=np.float32), 'fc')
    axes = onnx.numpy_helper.from_array(np.array([2, 3]), 'axes')
    graph = helper.make_graph(
        [helper.make_node('ReduceMean', ['input', 'axes'], ['pooled'],
                          keepdims=0),
         helper.make_node('MatMul', ['pooled', 'fc'], ['logits'])], 'g',
        [helper.make_tensor_value_info('input', 1,
                                       ['batch', 3, 'height', 'width'])],
        [helper.make_tensor_value_info('logits', 1, ['batch', 10])],
        initializer=[nan, axes])
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid('', 18)]), str(path))


def test_onnx_test_stops_at_non_finite_outputs(tmp_path):
    write_nan_classifier_graph(tmp_path / 'nan.onnx')
    proc = run_tool('tools/deploy/onnx_test.py', DEMO_CLS,
                    tmp_path / 'nan.onnx', '--work-dir', tmp_path / 'ort')
    assert proc.returncode != 0
    assert "nan.onnx: non-finite (NaN or inf) outputs 'logits'" in proc.stderr
    assert not (tmp_path / 'ort/metrics.json').exists()


def test_tool_exports_a_converted_timm_model_with_its_checkpoint(tmp_path):
    timm = pytest.importorskip('timm')
    model = timm.create_model('mobilenetv3_small_050', num_classes=10)
    mmgmconv.convert_to_gmconv(model, stem='conv_stem', sigma_init=2.0)
    with torch.no_grad():
        for p in model.conv_stem.sigma_predictor.parameters():
            p.normal_(0, 0.5)
    model.eval()
    torch.save(model.state_dict(), tmp_path / 'm.pth')
    out = tmp_path / 'm.onnx'
    args = ['tools/deploy/export_onnx.py', 'timm:mobilenetv3_small_050',
            tmp_path / 'm.pth', out, '--model-args', 'num_classes=10',
            '--convert', 'stem=conv_stem', 'sigma_init=2.0', '--shape', 32,
            32, '--verify', '--atol', '1e-4']
    proc = run_tool(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'wrote {out}\n' in proc.stdout
    assert 'onnxruntime vs PyTorch at batch 3, 64x64' in proc.stdout
    x = torch.randn(4, 3, 40, 40)
    with torch.no_grad():
        expected = model(x)
    got = OrtGraph(str(out))(x)
    assert (got - expected).abs().max() < 1e-4
    proc = run_tool(*args)  # the second time: OUT exists
    assert proc.returncode == 1
    assert 'refusing to overwrite existing file(s)' in proc.stderr
    assert 'Traceback' not in proc.stderr


def write_identity_graph(path, outputs):
    """A graph ``input (B, 3, H, W) -> each of outputs = input``."""
    graph = helper.make_graph(
        [helper.make_node('Identity', ['input'], [name]) for name in outputs],
        'g', [helper.make_tensor_value_info('input', 1,
                                            ['batch', 3, 'height', 'width'])],
        [helper.make_tensor_value_info(name, 1, None) for name in outputs])
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid('', 18)]), str(path))
    return str(path)


def test_ort_test_names_a_graph_of_another_kind(tmp_path):
    """A detector's graph given to a classifier config failed deep in the
    head, and a classifier's to a detector config said only "not a dense
    detector graph": the error names what the graph is."""
    dense = write_identity_graph(tmp_path / 'det.onnx',
                                 ['feat.0', 'head.0.0', 'head.1.0'])
    logits = write_identity_graph(tmp_path / 'cls.onnx', ['logits'])
    seg = write_identity_graph(tmp_path / 'seg.onnx', ['seg_logits'])
    classifier = build_model_from_config(DEMO_CLS)
    for path, kind in ((dense, "a detector's dense graph"),
                       (seg, "a segmentor's graph")):
        with pytest.raises(ValueError, match=(
                rf"{path} is {kind} \(inputs 'input' \(batch, 3, height, "
                r"width\); outputs '.*'\), but the config's "
                r"model is a ImageClassifier, which needs a classifier's "
                r"graph \(input 'input' .*output 'logits'\)")):
            build_ort_model(classifier, path)
    with pytest.raises(ValueError, match=(
            rf"{logits} is a classifier's graph \(.*; outputs 'logits'\),"
            r" but the config's model is a FasterRCNN, which needs a "
            r"detector's dense graph")):
        build_ort_model(build_model_from_config(DEMO_DET), logits)


def test_onnx_test_checks_its_arguments_before_building(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'onnx_test', ROOT / 'tools/deploy/onnx_test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    graph = write_identity_graph(tmp_path / 'cls.onnx', ['logits'])
    for argv, message in (
        ([str(DEMO_CLS), graph, '--launcher', 'pytorch'],
         "runs in one process; got --launcher 'pytorch'"),
        ([str(DEMO_CLS), str(tmp_path / 'no.onnx')],
         "ONNX graph '.*no.onnx' not found"),
        ([str(DEMO_CLS), str(tmp_path)], r'not found \(it is a folder\)'),
        (['missing.py', graph], "config 'missing.py' not found"),
    ):
        with pytest.raises(SystemExit):
            tool.parse_args(argv)
        assert re.search(message, capsys.readouterr().err), message
    assert tool.parse_args([str(DEMO_CLS), graph]).onnx == graph
