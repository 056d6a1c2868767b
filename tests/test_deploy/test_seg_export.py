"""ONNX export of a GMConv segmentor: dynamic batch and size, onnxruntime
equals PyTorch."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

pytest.importorskip('onnxruntime')
from mmgmconv.deploy import export_onnx  # noqa: E402
from mmgmconv.deploy.onnx_runtime import OrtGraph  # noqa: E402
from mmgmconv.deploy.onnx_verify import max_abs_diff  # noqa: E402
from mmgmconv.deploy.seg_export import (  # noqa: E402
    SegmentorLogits,
    check_dynamic_size_exportable,
)

ROOT = Path(__file__).parents[2]
DEMO = ROOT / 'configs/demo/deeplabv3plus_r18-gmconv-tiny_shapes.py'


def demo_segmentor(**model_changes):
    """The demo segmentor with sigmas, predictors and BN statistics away
    from their initial values (a trained model's, not an identity)."""
    cfg = Config.fromfile(DEMO)
    for key, value in model_changes.items():
        cfg.model[key] = value  # replaced, not merged
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('.sigma'):
                p.uniform_(0.5, 2.0)
            elif 'sigma_predictor' in name or 'conv_seg' in name:
                p.normal_(0, 0.3)
        for name, b in model.named_buffers():
            if name.endswith('running_var'):
                b.uniform_(0.5, 2.0)
    return model.eval()


def test_export_has_dynamic_batch_and_size_and_equals_pytorch(tmp_path):
    model = demo_segmentor()
    out = str(tmp_path / 'seg.onnx')
    assert export_onnx(model, out, shape=(64, 96), batch=2) == [out]
    graph = OrtGraph(out)
    assert graph.output_names == ['seg_logits']
    x = torch.randn(3, 3, 96, 64)  # another batch size and image size
    with torch.no_grad():
        expected = SegmentorLogits(model)(x)
    got = graph(x)
    assert got.shape == (3, 4, 96, 64)  # class logits at the input size
    assert expected.std() > 0.05  # not a near-constant output
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert torch.equal(got.argmax(1), expected.argmax(1))
    assert max_abs_diff(model, out, (80, 112), 1) < 1e-3
    # the graph is mmseg's whole-image inference before the argmax
    with torch.no_grad():
        seg_logits = model.encode_decode(
            x, [dict(img_shape=(96, 64), pad_shape=(96, 64))])
    torch.testing.assert_close(got, seg_logits, rtol=1e-4, atol=1e-5)


def test_pyramid_pooling_is_refused_with_the_layer_named(tmp_path):
    model = demo_segmentor(decode_head=dict(
        type='PSPHead', in_channels=128, in_index=3,
        channels=16, pool_scales=(1, 2, 3, 6), num_classes=4,
        norm_cfg=dict(type='BN'), align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss')))
    with pytest.raises(ValueError, match=r"layer 'decode_head\.psp_modules"
                       r"\.1\.0' pools adaptively to 2"):
        check_dynamic_size_exportable(model)
    with pytest.raises(ValueError, match='PSPNet'):
        export_onnx(model, str(tmp_path / 'psp.onnx'), shape=(64, 64))
