"""D-GMConv's equivalent computations (grouped, per-image, unfold,
patches): equal values and gradients, the path each input takes, ONNX
export, empty batch."""
import io
from collections import Counter

import numpy as np
import pytest
import torch

from mmgmconv import DGMConv, gaussian_mask
from mmgmconv.ops.dgm_conv import CONV_PATHS, conv_patches, conv_unfold

CONV_ARGS = [
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=4, stride=2, padding=1,
         bias=False),
    dict(in_channels=4, out_channels=8, kernel_size=(3, 5), padding=(1, 2),
         dilation=2, groups=2),
    dict(in_channels=6, out_channels=6, kernel_size=5, stride=(2, 1),
         padding=2, groups=6, padding_mode='reflect'),
    dict(in_channels=3, out_channels=5, kernel_size=7, stride=2, padding=3,
         padding_mode='circular', bias=False),
    dict(in_channels=3, out_channels=4, kernel_size=(2, 3), padding='same',
         padding_mode='replicate'),
    dict(in_channels=4, out_channels=6, kernel_size=(1, 3), stride=2,
         groups=2),
]
PATTERNS = ['sigma', 'sigma1_sigma2', 'sigma1_ratio']


def make_conv(args, pattern='sigma1_ratio', seed=0):
    torch.manual_seed(seed)
    conv = DGMConv(**args, pred_pattern=pattern, sigma_init=2.0)
    torch.nn.init.normal_(conv.sigma_predictor.fc1.weight)
    for p in conv.sigma_predictor.fc2.parameters():
        torch.nn.init.normal_(p, std=0.5)  # sigmas differ between images
    if conv.bias is not None:
        torch.nn.init.normal_(conv.bias)
    return conv


def per_image_reference(conv, x):
    """Each image alone, through nn.Conv2d's own forward with the masked
    kernel (so padding modes are nn.Conv2d's)."""
    s1, s2 = conv.predict_sigmas(x)
    plain = torch.nn.Conv2d(conv.in_channels, conv.out_channels,
                            conv.kernel_size, conv.stride, conv.padding,
                            conv.dilation, conv.groups, conv.bias is not None,
                            conv.padding_mode)
    return torch.cat([
        plain._conv_forward(x[i:i + 1],
                            conv.weight * gaussian_mask(conv.kernel_size,
                                                        s1[i], s2[i]),
                            conv.bias) for i in range(x.shape[0])
    ])


def run_path(conv, impl, x):
    """Output and the gradients of input and every parameter."""
    conv.impl = impl
    conv.zero_grad(set_to_none=True)
    x = x.detach().requires_grad_()
    out = conv(x)
    (out.float() * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() \
        .backward()
    grads = {n: p.grad for n, p in conv.named_parameters()}
    return out, dict(grads, input=x.grad)


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('pattern', PATTERNS)
@pytest.mark.parametrize('args', CONV_ARGS)
def test_paths_equal_values_and_gradients(args, pattern, batch):
    conv = make_conv(args, pattern)
    x = torch.randn(batch, args['in_channels'], 11, 13)
    with torch.no_grad():
        ref = per_image_reference(conv, x)
    results = {impl: run_path(conv, impl, x) for impl in CONV_PATHS}
    out0, grads0 = results['grouped']
    torch.testing.assert_close(out0, ref)
    assert set(grads0) == {n for n, _ in conv.named_parameters()} | {'input'}
    assert all(g is not None for g in grads0.values())
    if batch > 1:  # (one image can leave every hidden ReLU unit at zero)
        assert all(g.abs().sum() > 0 for g in grads0.values())
    for impl, (out, grads) in results.items():
        torch.testing.assert_close(out, ref, msg=impl)
        for name, grad in grads.items():
            torch.testing.assert_close(grad, grads0[name],
                                       msg=f'{impl}: {name}')


@pytest.mark.parametrize('args', CONV_ARGS[2:4])
def test_paths_equal_under_bf16_autocast(args):
    conv = make_conv(args)
    x = torch.randn(3, args['in_channels'], 11, 13)
    results = {}
    for impl in CONV_PATHS:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            results[impl] = run_path(conv, impl, x)
    out0, grads0 = results['grouped']
    assert out0.dtype == torch.bfloat16
    for impl, (out, grads) in results.items():
        assert out.dtype == torch.bfloat16
        torch.testing.assert_close(out, out0, atol=3e-2, rtol=2e-2,
                                   msg=impl)
        for name, grad in grads.items():
            assert torch.isfinite(grad).all()
            scale = grads0[name].abs().max()
            torch.testing.assert_close(grad / scale, grads0[name] / scale,
                                       atol=3e-2, rtol=0, msg=name)


@pytest.mark.parametrize('impl', ['auto', *CONV_PATHS])
def test_empty_batch_gives_empty_output_and_gradients(impl):
    conv = DGMConv(3, 4, 3, stride=2, padding=1, bias=True, impl=impl)
    x = torch.randn(0, 3, 9, 9, requires_grad=True)
    out = conv(x)
    assert out.shape == (0, 4, 5, 5)
    out.sum().backward()
    assert x.grad.shape == x.shape
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() == 0
    assert conv.last_sigmas.shape == (0, 2)


@pytest.mark.parametrize('path', [conv_unfold, conv_patches])
def test_batch_independent_paths_take_an_empty_batch(path):
    # the layer sends an empty batch to 'unfold'; 'patches' must take one
    # too, as it does in an ONNX graph run at batch 0
    conv = DGMConv(4, 6, (2, 3), stride=2, dilation=(1, 2), groups=2)
    x = torch.randn(0, 4, 9, 10, requires_grad=True)
    mask = torch.rand(0, 2, 3, requires_grad=True)
    out = path(x, conv.weight, mask, conv.bias, (1, 1), conv)
    assert out.shape == (0, 6, 5, 4)
    out.sum().backward()
    assert x.grad.shape == x.shape and mask.grad.shape == mask.shape
    assert conv.weight.grad.abs().sum() == 0


def test_impl_is_validated():
    with pytest.raises(ValueError,
                       match=r"impl of DGMConv must be 'auto' or one of "
                       r"\['grouped', 'patches', 'per_image', 'unfold'\], "
                       r"got 'fast'"):
        DGMConv(3, 4, 3, impl='fast')


@pytest.mark.parametrize('channels,groups,impl,expected', [
    (3, 1, 'auto', 'per_image'),  # the stem: thin groups
    (8, 2, 'auto', 'per_image'),
    (64, 1, 'auto', 'grouped'),
    (64, 8, 'auto', 'grouped'),
    (3, 1, 'grouped', 'grouped'),  # a forced path is kept
    (64, 1, 'unfold', 'unfold'),
    (64, 1, 'patches', 'patches'),
])
def test_path_chosen_on_cpu(channels, groups, impl, expected):
    conv = DGMConv(channels, 8, 3, groups=groups, impl=impl)
    assert conv.choose_path(torch.zeros(2, channels, 5, 5)) == expected
    assert conv.choose_path(torch.zeros(0, channels, 5, 5)) == 'unfold'


def test_tracing_uses_the_batch_independent_path():
    conv = make_conv(CONV_ARGS[2])
    traced = torch.jit.trace(conv, torch.randn(2, 4, 11, 13),
                             check_trace=False)
    x = torch.randn(5, 4, 9, 16)
    torch.testing.assert_close(traced(x), conv(x))


@pytest.mark.parametrize('args', [CONV_ARGS[1], *CONV_ARGS[2:4], CONV_ARGS[6]])
def test_onnx_export_has_dynamic_batch_and_size(args):
    # the deploy extra: not installed on the torch 2.1 stack (make test-compat)
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    from mmgmconv.deploy import check_standard_domains
    conv = make_conv(args).eval()
    f = io.BytesIO()
    dims = {0: 'batch', 2: 'height', 3: 'width'}
    torch.onnx.export(conv, torch.randn(2, args['in_channels'], 11, 13), f,
                      dynamo=False, opset_version=17, input_names=['x'],
                      output_names=['y'], dynamic_axes=dict(x=dims, y=dims))
    graph = onnx.load_from_string(f.getvalue())
    check_standard_domains(graph)
    # the 'patches' form: the one-hot Conv, then the 1x1 Conv gives y
    ops = Counter(node.op_type for node in graph.graph.node)
    (last, ) = [n for n in graph.graph.node if 'y' in n.output]
    assert ops['Conv'] == 2 and last.op_type == 'Conv', ops
    session = ort.InferenceSession(f.getvalue(),
                                   providers=['CPUExecutionProvider'])
    for shape in [(5, 9, 16), (1, 14, 10)]:
        x = torch.randn(shape[0], args['in_channels'], *shape[1:])
        with torch.no_grad():
            ref = per_image_reference(conv, x).numpy()
        (out, ) = session.run(None, dict(x=x.numpy()))
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=1e-5, rtol=1e-5)
    x = torch.randn(0, args['in_channels'], 9, 16)
    (out, ) = session.run(None, dict(x=x.numpy()))
    assert out.shape == conv(x).shape  # an empty batch
