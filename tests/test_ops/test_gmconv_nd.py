"""GMConv for 1D and 3D convolutions (issue 31): the N-d mask, the
SGMConv1d / SGMConv3d / DGMConv1d / DGMConv3d layers, the conv registry,
and converting and folding Conv1d / Conv3d models. Runs on both torch
stacks (Makefile COMPAT_TESTS): tiny tensors, no torch >= 2.6 feature."""
import copy
import itertools
import math
import re
import uuid

import pytest
import torch
from mmcv.cnn import build_conv_layer
from mmengine.logging import MMLogger
from mmengine.registry import MODELS
from torch import nn

from cpu_autocast import AUTOCAST_DTYPES
from mmgmconv import (
    DGMConv,
    SGMConv,
    convert_to_gmconv,
    fuse_gmconv,
    gaussian_mask,
)
from mmgmconv.ops import (
    FOLDED_KEY,
    PRED_PATTERNS_1D,
    PRED_PATTERNS_3D,
    SIGMA_MIN,
    DGMConv1d,
    DGMConv3d,
    SGMConv1d,
    SGMConv3d,
    SigmaPredictor,
    gaussian_mask_nd,
)
from mmgmconv.ops.dgm_conv_nd import CONV_PATHS_ND


def reference_mask(kernel_size, sigmas):
    """Eq. 3-6 with one term per axis, written out in float64: the Gaussian
    over the kernel grid divided by its maximum."""
    values = {}
    for index in itertools.product(*(range(k) for k in kernel_size)):
        values[index] = math.exp(-0.5 * sum(
            (i - (k - 1) / 2)**2 / s**2
            for i, k, s in zip(index, kernel_size, sigmas)))
    peak = max(values.values())
    mask = torch.zeros(kernel_size, dtype=torch.float64)
    for index, value in values.items():
        mask[index] = value / peak
    return mask


def old_gaussian_mask(kernel_size, sigma1, sigma2=None):
    """The 2D mask exactly as mmgmconv computed it before the N-d
    generalisation (x / columns term first), for the bit-identity test."""
    kh, kw = (kernel_size, ) * 2 if isinstance(kernel_size,
                                               int) else kernel_size
    s1 = sigma1 if isinstance(sigma1, torch.Tensor) else torch.tensor(sigma1)
    s2 = s1 if sigma2 is None else (sigma2 if isinstance(
        sigma2, torch.Tensor) else torch.tensor(sigma2))
    dtype = torch.float64 if s1.dtype == torch.float64 else torch.float32
    s1 = s1.to(dtype).abs().clamp_min(SIGMA_MIN)[..., None, None]
    s2 = s2.to(dtype).abs().clamp_min(SIGMA_MIN)[..., None, None]
    ys = torch.arange(kh, dtype=dtype) - (kh - 1) / 2
    xs = torch.arange(kw, dtype=dtype) - (kw - 1) / 2
    log_mask = -0.5 * ((xs**2)[None, :] / s1**2 + (ys**2)[:, None] / s2**2)
    log_mask = log_mask - log_mask.amax(dim=(-2, -1), keepdim=True)
    return log_mask.exp()


# --- the mask ---


@pytest.mark.parametrize('kernel_size,sigmas', [
    ((5, ), (1.3, )),
    ((4, ), (0.6, )),
    ((1, ), (2.0, )),
    ((3, 3, 3), (1.0, 1.0, 1.0)),
    ((3, 5, 5), (0.7, 2.0, 2.0)),
    ((2, 4, 3), (3.0, 0.5, 1.5)),
    ((1, 3, 3), (0.4, 1.0, 2.0)),
    ((4, 7), (2.5, 0.7)),
])
def test_mask_matches_equations(kernel_size, sigmas):
    mask = gaussian_mask_nd(kernel_size, sigmas)
    assert mask.shape == kernel_size and mask.dtype == torch.float32
    torch.testing.assert_close(mask.double(),
                               reference_mask(kernel_size, sigmas),
                               atol=1e-6, rtol=1e-5)
    assert mask.max().item() == 1.0
    if len(set(sigmas)) == 1:  # one sigma is the isotropic mask
        assert torch.equal(gaussian_mask_nd(kernel_size, sigmas[0]), mask)


def test_2d_mask_is_bit_identical_to_before():
    torch.manual_seed(0)
    cases = [(5.0, None), (0.5, None), (1.0, 3.0), (2.5, 0.7),
             (torch.rand(6) * 5, torch.rand(6) * 3),
             (torch.rand(4, dtype=torch.float64), None),
             (torch.tensor([0.0, -1.0, 1e-9, 1e4]), None),
             (torch.rand(3, dtype=torch.float16) * 4, None)]
    for kernel_size in [1, 2, 3, 4, 7, 11, (3, 5), (4, 7), (1, 9)]:
        for s1, s2 in cases:
            old = old_gaussian_mask(kernel_size, s1, s2)
            new = gaussian_mask(kernel_size, s1, s2)
            assert new.dtype == old.dtype and torch.equal(new, old)
            pair = (kernel_size, ) * 2 if isinstance(kernel_size,
                                                     int) else kernel_size
            rows_first = (s1 if s2 is None else s2, s1)
            assert torch.equal(gaussian_mask_nd(pair, rows_first), old)


def test_batched_sigmas_and_separability():
    st, sh, sw = torch.tensor([0.5, 2.0]), torch.tensor([1.0, 3.0]), \
        torch.tensor([4.0, 0.8])
    mask = gaussian_mask_nd((3, 4, 5), (st, sh, sw))
    assert mask.shape == (2, 3, 4, 5)
    for b in range(2):
        # the 3D mask is the outer product of three 1D masks
        t, h, w = (gaussian_mask_nd((k, ), s[b])
                   for k, s in zip((3, 4, 5), (st, sh, sw)))
        torch.testing.assert_close(mask[b],
                                   t[:, None, None] * h[:, None] * w)


def test_tiny_zero_negative_and_large_sigmas_stay_finite():
    for kernel_size in [(3, ), (4, ), (3, 3, 3), (2, 4, 3)]:
        for s in (0.0, 1e-12, SIGMA_MIN, -2.0, 1e4):
            mask = gaussian_mask_nd(kernel_size, torch.tensor(s))
            assert torch.isfinite(mask).all() and mask.max() == 1
        half = gaussian_mask_nd(kernel_size,
                                torch.tensor(1e-4, dtype=torch.float16))
        assert half.dtype == torch.float32 and torch.isfinite(half).all()
    # an even kernel with a tiny sigma: the central taps stay at 1
    mask = gaussian_mask_nd((4, 4, 2), torch.tensor(1e-6))
    assert mask[1:3, 1:3, :].eq(1).all() and mask.sum() == 8
    torch.testing.assert_close(gaussian_mask_nd((5, ), torch.tensor(-2.0)),
                               gaussian_mask_nd((5, ), 2.0))


def test_mask_gradcheck_float64():
    sigmas = [
        torch.tensor([0.8, 3.0], dtype=torch.float64, requires_grad=True)
        for _ in range(3)
    ]
    assert torch.autograd.gradcheck(
        lambda s: gaussian_mask_nd((5, ), s), (sigmas[0], ))
    assert torch.autograd.gradcheck(
        lambda *s: gaussian_mask_nd((3, 4, 5), list(s)), tuple(sigmas))


@pytest.mark.parametrize('bad', [(3, 3, 3, 3), (), (0, ), (3, -1), 3,
                                 (3, True), (2.5, )])
def test_bad_kernel_size(bad):
    with pytest.raises(ValueError,
                       match=re.escape('kernel_size must be a tuple of 1, 2 '
                                       'or 3 positive ints (one per spatial '
                                       f'axis), got {bad!r}')):
        gaussian_mask_nd(bad, 1.0)


def test_2d_mask_points_3d_kernels_to_the_nd_mask():
    with pytest.raises(ValueError, match=re.escape(
            'kernel_size must be a positive int or a pair of positive ints, '
            'got (3, 3, 3) (1D and 3D kernels: gaussian_mask_nd)')):
        gaussian_mask((3, 3, 3), 1.0)


def test_bad_sigmas():
    with pytest.raises(ValueError, match=r'sigmas must be one sigma or 3 '
                       r'\(one per axis of kernel_size \(3, 3, 3\)\), got 2'):
        gaussian_mask_nd((3, 3, 3), (1.0, 2.0))
    with pytest.raises(ValueError, match=r'sigmas\[1\] must be finite and '
                       r'> 0, got -1.0'):
        gaussian_mask_nd((3, 3), (1.0, -1.0))
    with pytest.raises(ValueError, match=r'sigmas\[2\] must have the shape '
                       r'of sigmas\[0\] \(2,\), got \(3,\)'):
        gaussian_mask_nd((3, 3, 3), (torch.ones(2), torch.ones(2),
                                     torch.ones(3)))
    with pytest.raises(ValueError, match=r'sigmas\[0\] must be finite, got a '
                       r'NaN or inf sigma'):
        gaussian_mask_nd((3, ), torch.tensor([1.0, float('nan')]))


# --- the layers ---

SGM_CASES = [
    (SGMConv1d, dict(in_channels=4, out_channels=6, kernel_size=5,
                     padding=2), (2, 4, 17)),
    (SGMConv1d, dict(in_channels=4, out_channels=8, kernel_size=4, stride=2,
                     dilation=2, groups=2, padding_mode='reflect',
                     padding=3), (3, 4, 19)),
    (SGMConv3d, dict(in_channels=3, out_channels=4, kernel_size=3,
                     padding=1), (2, 3, 5, 7, 6)),
    (SGMConv3d, dict(in_channels=4, out_channels=4, kernel_size=(1, 3, 3),
                     stride=(1, 2, 2), groups=4, padding='valid'),
     (2, 4, 3, 9, 8)),
    (SGMConv3d, dict(in_channels=2, out_channels=3, kernel_size=(2, 5, 4),
                     padding='same', bias=False), (1, 2, 4, 6, 7)),
]


PLAIN_CONVS = {1: nn.Conv1d, 3: nn.Conv3d}


def masked_reference(conv, x, mask):
    """The plain conv with ``conv``'s arguments applied to ``x`` with the
    weight ``conv.weight * mask`` (differentiable in both)."""
    plain = PLAIN_CONVS[len(conv.kernel_size)](
        conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
        conv.padding, conv.dilation, conv.groups, conv.bias is not None,
        conv.padding_mode, device='meta')
    params = {'weight': conv.weight * mask.to(conv.weight.dtype)}
    if conv.bias is not None:
        params['bias'] = conv.bias
    return torch.func.functional_call(plain, params, (x, ))


@pytest.mark.parametrize('cls,args,shape', SGM_CASES)
def test_sgmconv_nd_is_conv_with_masked_kernel_and_folds_exactly(
        cls, args, shape):
    torch.manual_seed(0)
    conv = cls(**args, sigma_init=1.3)
    x = torch.randn(*shape)
    out = conv(x)
    mask = gaussian_mask_nd(conv.kernel_size, 1.3)
    torch.testing.assert_close(out, masked_reference(conv, x, mask))
    out.sum().backward()
    assert conv.sigma.grad is not None and conv.sigma.grad.abs() > 0
    plain = conv.to_plain_conv()
    assert type(plain) is cls.plain_conv
    assert set(plain.state_dict()) == set(conv.state_dict()) - {'sigma'}
    assert torch.equal(plain(x), out.detach())  # the same arithmetic
    torch.testing.assert_close(conv(x[0]), out[0])  # unbatched


def test_kernel_of_size_one_along_an_axis_masks_the_others_only():
    conv = SGMConv3d(2, 2, (1, 3, 3), sigma_init=0.8)
    torch.testing.assert_close(conv.mask()[0], gaussian_mask(3, 0.8))
    for kernel_size in [1, 2, (1, 2, 2), (2, 1, 2)]:
        assert SGMConv3d(2, 2, kernel_size).sigma is None
    for kernel_size in [1, 2]:
        conv = SGMConv1d(2, 2, kernel_size)
        assert conv.sigma is None and 'sigma' not in conv.state_dict()


def test_layer_gradcheck_float64():
    torch.manual_seed(0)
    for conv, shape in [(SGMConv1d(2, 2, 3, padding=1, sigma_init=1.5),
                         (1, 2, 5)),
                        (SGMConv3d(1, 1, 3, padding=1, sigma_init=1.5),
                         (1, 1, 2, 3, 3))]:
        conv = conv.double()
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(conv, (x, ), fast_mode=True)
        assert torch.autograd.gradcheck(
            lambda s, conv=conv, x=x: masked_reference(
                conv, x, gaussian_mask_nd(conv.kernel_size, s)),
            (conv.sigma, ))
    for cls, shape in [(DGMConv1d, (2, 2, 5)), (DGMConv3d, (2, 2, 2, 3, 3))]:
        conv = cls(2, 1, 3, padding=1, sigma_init=1.5).double()
        randomise_predictor(conv)
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(conv, (x, ), fast_mode=True)


def randomise_predictor(conv):
    torch.nn.init.normal_(conv.sigma_predictor.fc2.weight, std=0.5)
    torch.nn.init.normal_(conv.sigma_predictor.fc2.bias, std=0.5)
    return conv


DGM_CASES = [
    (DGMConv1d, 'sigma', dict(in_channels=3, out_channels=4, kernel_size=5,
                              padding=2), (4, 3, 16)),
    (DGMConv1d, 'sigma', dict(in_channels=4, out_channels=6, kernel_size=4,
                              groups=2, padding='same',
                              padding_mode='circular'), (3, 4, 11)),
] + [(DGMConv3d, pattern, dict(in_channels=4, out_channels=6,
                               kernel_size=(3, 5, 3), padding=(1, 2, 1),
                               dilation=(1, 1, 2), groups=2), (3, 4, 4, 7, 8))
     for pattern in PRED_PATTERNS_3D] + [
    (DGMConv3d, 'sigma_temporal_ratio',
     dict(in_channels=3, out_channels=4, kernel_size=(2, 3, 3), stride=2,
          padding=1, padding_mode='replicate', bias=False), (2, 3, 5, 6, 6)),
]


def per_input_reference(conv, x):
    """Each input of ``x`` alone, with the plain conv and its mask."""
    outs = []
    for i in range(x.shape[0]):
        sigmas = conv.predict_sigmas(x[i:i + 1])[0]
        mask = gaussian_mask_nd(conv.kernel_size, list(sigmas.unbind()))
        outs.append(masked_reference(conv, x[i:i + 1], mask))
    return torch.cat(outs)


@pytest.mark.parametrize('cls,pattern,args,shape', DGM_CASES)
def test_dgmconv_nd_every_path_is_the_per_input_conv(cls, pattern, args,
                                                     shape):
    torch.manual_seed(0)
    conv = randomise_predictor(cls(**args, pred_pattern=pattern,
                                   sigma_init=2.0))
    x = torch.randn(*shape)
    reference = per_input_reference(conv, x)
    for impl in CONV_PATHS_ND:
        conv.impl = impl
        out = conv(x)
        torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
        # batch independence: each input alone gives its row
        for i in range(x.shape[0]):
            torch.testing.assert_close(conv(x[i:i + 1]), out[i:i + 1],
                                       atol=1e-5, rtol=1e-5)
    assert conv.last_sigmas.shape == (1, len(conv.kernel_size))
    assert not torch.equal(*per_input_sigmas(conv, x)[:2])


def per_input_sigmas(conv, x):
    return [conv.predict_sigmas(x[i:i + 1])[0] for i in range(len(x))]


def test_prediction_patterns_give_the_documented_sigmas():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 6, 6)
    iso = randomise_predictor(DGMConv3d(4, 4, 3, pred_pattern='sigma'))
    s = iso.predict_sigmas(x)
    assert s.shape == (2, 3) and torch.equal(s[:, 0], s[:, 1]) and \
        torch.equal(s[:, 1], s[:, 2])
    ratio = randomise_predictor(DGMConv3d(4, 4, 3))
    assert ratio.pred_pattern == 'sigma_temporal_ratio'
    s = ratio.predict_sigmas(x)
    assert torch.equal(s[:, 1], s[:, 2]) and not torch.equal(s[:, 0], s[:, 1])
    raw = ratio.sigma_predictor(x)
    scale = torch.exp(ratio.log_sigma_range * torch.tanh(raw))
    torch.testing.assert_close(s[:, 1], 5.0 * scale[:, 0])
    torch.testing.assert_close(s[:, 0], s[:, 1] * scale[:, 1])
    free = randomise_predictor(DGMConv3d(4, 4, 3,
                                         pred_pattern='sigma_per_axis'))
    assert len(set(free.predict_sigmas(x)[0].tolist())) == 3
    assert DGMConv1d(4, 4, 3).pred_pattern == 'sigma'
    assert set(PRED_PATTERNS_1D) == {'sigma'}
    # the predictor starts at zero: every input gets sigma_init, bounded
    for conv, shape in [(DGMConv1d(3, 4, 5, sigma_init=2.0), (2, 3, 9)),
                        (DGMConv3d(3, 4, 3, sigma_init=2.0), (2, 3, 4, 5, 5))]:
        conv(torch.randn(*shape))
        assert conv.last_sigmas.eq(2.0).all()
        torch.nn.init.constant_(conv.sigma_predictor.fc2.bias, 100.0)
        conv(torch.randn(*shape))
        assert (conv.last_sigmas <= 2.0 * 10.0**2 + 1e-3).all()


@pytest.mark.parametrize('cls,shape', [(DGMConv1d, (3, 9)),
                                       (DGMConv3d, (3, 4, 5, 5))])
def test_dgmconv_nd_empty_batch_and_empty_input_do_what_the_conv_does(
        cls, shape):
    conv = cls(3, 4, 3, padding=2)
    x = torch.randn(0, *shape, requires_grad=True)
    out = conv(x)
    assert out.shape == (0, 4, *(n + 2 for n in shape[1:]))
    assert conv.last_sigmas.shape == (0, len(shape) - 1)
    out.sum().backward()
    assert x.grad.shape == x.shape
    # an input with no samples along an axis: the plain conv's output or
    # error (torch refuses it; older torch may not)
    empty = torch.randn(2, 3, *([0] + list(shape[2:])))
    plain = (nn.Conv1d if cls is DGMConv1d else nn.Conv3d)(3, 4, 3, padding=2)
    try:
        expected = plain(empty).shape
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match=re.escape(str(error))):
            conv(empty)
    else:
        assert conv(empty).shape == expected
    assert conv.last_sigmas.eq(conv.sigma_init).all()


@pytest.mark.parametrize('cls,shape,text', [
    (DGMConv1d, (2, 5, 9), '(B, 3, L) or (3, L)'),
    (DGMConv1d, (2, 3, 4, 9), '(B, 3, L) or (3, L)'),
    (DGMConv3d, (2, 3, 4, 9), '(B, 3, T, H, W) or (3, T, H, W)'),
    (DGMConv3d, (2, 4, 3, 4, 9), '(B, 3, T, H, W) or (3, T, H, W)'),
])
def test_dgmconv_nd_bad_input_names_the_expected_shape(cls, shape, text):
    with pytest.raises(ValueError, match=re.escape(
            f'{cls.__name__} expects input of shape {text} (in_channels=3), '
            f'got {shape}')):
        cls(3, 4, 3)(torch.randn(*shape))


@pytest.mark.parametrize('cls,kwargs,error,match', [
    (DGMConv1d, dict(pred_pattern='sigma1_ratio'), ValueError,
     r"pred_pattern of DGMConv1d must be one of \['sigma'\], got "
     r"'sigma1_ratio'"),
    (DGMConv3d, dict(pred_pattern='sigma1_sigma2'), ValueError,
     r"one of \['sigma', 'sigma_per_axis', 'sigma_temporal_ratio'\]"),
    (DGMConv3d, dict(impl='unfold'), ValueError,
     r"impl of DGMConv3d must be 'auto' or one of \['grouped', 'patches', "
     r"'per_image'\], got 'unfold'"),
    (DGMConv1d, dict(sigma_range=1.0), ValueError, 'sigma_range must be > 1'),
    (DGMConv3d, dict(sigma_init=0.0), ValueError,
     'sigma_init must be finite and > 0, got 0.0'),
    (SGMConv1d, dict(sigma_init=1e5), ValueError,
     r'sigma_init must be in \[0.001, 10000\]'),
    (SGMConv3d, dict(sigma_init=float('nan')), ValueError,
     'sigma_init must be finite'),
    (SGMConv3d, dict(sigma_init='wide'), TypeError,
     'sigma_init must be a real number'),
])
def test_bad_layer_arguments(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(3, 4, 3, **kwargs)


def test_non_finite_sigma_in_forward_raises():
    conv = SGMConv3d(2, 2, 3)
    conv.sigma.data.fill_(float('nan'))
    with pytest.raises(ValueError, match=r'sigmas\[0\] must be finite'):
        conv(torch.randn(1, 2, 3, 3, 3))
    # D-GMConv: test_non_finite_sigma_from_finite_input_blames_the_weights


def test_reduced_precision_and_tiny_sigma_stay_finite():
    conv = SGMConv1d(3, 8, 7, padding=3, sigma_init=SIGMA_MIN)
    x = torch.randn(2, 3, 12) * 100
    out = conv.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
    out.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())
    dconv = DGMConv3d(3, 4, 3, padding=1, sigma_init=SIGMA_MIN)
    out = dconv(torch.randn(2, 3, 3, 5, 5) * 100)
    assert torch.isfinite(out).all()


def test_reset_parameters_restores_sigma_init_and_zero_predictor():
    conv = SGMConv3d(2, 2, 3, sigma_init=2.0)
    conv.sigma.data.fill_(7.0)
    conv.reset_parameters()
    assert conv.sigma.item() == 2.0
    dconv = randomise_predictor(DGMConv1d(2, 2, 3))
    dconv.reset_parameters()
    assert dconv.sigma_predictor.fc2.weight.eq(0).all()


def test_tracing_uses_the_batch_independent_path():
    torch.manual_seed(0)
    conv = randomise_predictor(DGMConv3d(3, 4, 3, padding=1, sigma_init=2.0))
    assert conv.choose_path(torch.zeros(2, 3, 3, 5, 5)) == 'per_image'
    assert conv.choose_path(torch.zeros(0, 3, 3, 5, 5)) == 'patches'
    assert DGMConv1d(16, 4, 3).choose_path(torch.zeros(2, 16, 5)) == \
        'grouped'
    traced = torch.jit.trace(conv, torch.randn(2, 3, 3, 5, 5),
                             check_trace=False)
    x = torch.randn(4, 3, 4, 6, 7)
    torch.testing.assert_close(traced(x), conv(x), atol=1e-5, rtol=1e-5)


# --- registry ---


@pytest.mark.parametrize('name,cls,args,shape', [
    ('SGMConv1d', SGMConv1d, (3, 4, 3), (2, 3, 8)),
    ('SGMConv3d', SGMConv3d, (3, 4, 3), (2, 3, 3, 5, 5)),
    ('DGMConv1d', DGMConv1d, (3, 4, 3), (2, 3, 8)),
    ('DGMConv3d', DGMConv3d, (3, 4, 3), (2, 3, 3, 5, 5)),
])
def test_built_through_mmcv_conv_cfg(name, cls, args, shape):
    layer = build_conv_layer(dict(type=name, sigma_init=2.0), *args,
                             padding=1)
    assert type(layer) is cls and layer.sigma_init == 2.0
    assert layer(torch.randn(*shape)).shape[:2] == (2, 4)
    assert MODELS.get(name) is cls  # a class, not a function


def test_mmcv_names_are_not_taken_over():
    # mmcv's own 'Conv1d' / 'Conv3d' still build its plain convs
    for name, plain in [('Conv1d', nn.Conv1d), ('Conv3d', nn.Conv3d)]:
        layer = build_conv_layer(dict(type=name), 2, 2, 3)
        assert isinstance(layer, plain) and not hasattr(layer, 'sigma_init')


# --- convert and fuse ---


class LogLines(list):
    """The messages mmengine's current logger writes while it is used."""

    def __enter__(self):
        import logging
        # a new name: an existing one would not become the current logger
        self.logger = MMLogger.get_instance(f'gmconv_nd_{uuid.uuid4().hex}')
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.append(record.getMessage())
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *args):
        self.logger.removeHandler(self.handler)


class Mixed(nn.Module):
    """Conv2d, Conv1d and Conv3d layers, a 1x1 one and a transposed one."""

    def __init__(self):
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3, padding=1)
        self.point = nn.Conv2d(4, 4, 1)
        self.audio = nn.Conv1d(2, 4, 5, padding=2)
        self.video = nn.Conv3d(3, 4, (3, 3, 3), padding=1)
        self.up = nn.ConvTranspose1d(4, 4, 3)

    def forward(self, image, audio, video):
        return (self.point(self.image(image)), self.up(self.audio(audio)),
                self.video(video))


def test_mixed_model_report_says_what_was_left_and_why():
    torch.manual_seed(0)
    with LogLines() as lines:
        model = convert_to_gmconv(Mixed(), dims=(2, ))
    (line, ) = [t for t in lines if t.startswith('convert_to_gmconv')]
    assert line == (
        'convert_to_gmconv: converted 1 to SGMConv; left 4 as they are: '
        'kernel of at most 2 along every axis (mask all ones): point; '
        'Conv1d (not in dims=(2,)): audio; '
        'Conv3d (not in dims=(2,)): video; '
        'ConvTranspose1d (transposed: no GMConv form): up')
    assert type(model.audio) is nn.Conv1d and type(model.video) is nn.Conv3d
    with LogLines() as lines:
        convert_to_gmconv(model, stem='video', exclude='image')
    (line, ) = [t for t in lines if t.startswith('convert_to_gmconv')]
    assert line.startswith('convert_to_gmconv: converted 1 to DGMConv3d, 1 '
                           'to SGMConv1d; left 2 as they are: ')
    assert type(model.audio) is SGMConv1d and type(model.video) is DGMConv3d


def test_mixed_model_converts_folds_and_keeps_outputs():
    torch.manual_seed(0)
    model = Mixed().eval()
    plain_keys = set(model.state_dict())
    inputs = (torch.randn(2, 3, 6, 6), torch.randn(2, 2, 9),
              torch.randn(2, 3, 3, 5, 5))
    convert_to_gmconv(model, sigma_init=0.8)
    assert [type(m) for m in (model.image, model.audio, model.video)] == \
        [SGMConv, SGMConv1d, SGMConv3d]
    with torch.no_grad():
        expected = model(*inputs)
    fuse_gmconv(model)
    assert [type(m) for m in (model.image, model.audio, model.video)] == \
        [nn.Conv2d, nn.Conv1d, nn.Conv3d]
    assert set(model.state_dict()) - {'image.gmconv_folded'} == plain_keys
    assert not any(k.endswith('gmconv_folded') for k in model.state_dict()
                   if not k.startswith('image'))
    with torch.no_grad():
        for got, want in zip(model(*inputs), expected):
            torch.testing.assert_close(got, want)


def test_dims_are_validated_and_a_model_without_them_is_an_error():
    for bad in [(), (4, ), (2, 2), 0, True, (True, ), '2']:
        with pytest.raises(ValueError, match=re.escape(
                f'dims must be one or a tuple of distinct values from '
                f'(1, 2, 3) (nn.Conv1d, nn.Conv2d, nn.Conv3d), got {bad!r}')):
            convert_to_gmconv(Mixed(), dims=bad)
    model = convert_to_gmconv(Mixed(), dims=3)
    assert type(model.video) is SGMConv3d and type(model.image) is nn.Conv2d
    audio = nn.Sequential(nn.Conv1d(2, 4, 5))
    with pytest.raises(ValueError, match=r"Sequential has no nn.Conv2d, "
                       r"nn.Conv3d layer to convert; it has \['Conv1d'\] "
                       r"layers: select them with dims=..."):
        convert_to_gmconv(audio, dims=(2, 3))
    with pytest.raises(ValueError, match=r"converting '0' to DGMConv1d: "
                       r"pred_pattern of DGMConv1d must be one of"):
        convert_to_gmconv(audio, kind='DGMConv', pred_pattern='sigma1_ratio')
    assert type(audio[0]) is nn.Conv1d


class OwnForward(nn.Conv3d):
    """Changes what the conv computes: must not become a GMConv layer."""

    def forward(self, x):
        return super().forward(x) * 2


class Builder(nn.Conv3d):
    """Only constructs a conv, as torchvision's Conv3DSimple."""

    def __init__(self, channels):
        super().__init__(channels, channels, 3, padding=1, bias=False)

    @staticmethod
    def downsample_stride(stride):
        return (stride, ) * 3


class Annotated(nn.Conv1d):
    """Sets an attribute a Conv1d has not: refused (it could be used)."""

    def __init__(self):
        super().__init__(2, 2, 3)
        self.scale = 2.0


def test_subclasses_that_only_construct_are_converted_and_restored():
    torch.manual_seed(0)
    model = nn.Sequential(Builder(2), nn.ReLU(), Builder(2)).eval()
    x = torch.randn(1, 2, 3, 5, 5)
    with LogLines() as lines:
        convert_to_gmconv(model, sigma_init=0.7)
    assert "construction-only classes ['Builder']" in '\n'.join(lines)
    assert type(model[0]) is SGMConv3d and model[0].conv_class is Builder
    with torch.no_grad():
        expected = model(x)
    fuse_gmconv(model)
    assert type(model[0]) is Builder and type(model[2]) is Builder
    assert set(model.state_dict()) == {'0.weight', '2.weight'}
    torch.testing.assert_close(model(x), expected)
    with pytest.raises(TypeError, match=r'0 \(.*OwnForward: OwnForward '
                       r'overrides forward\)'):
        convert_to_gmconv(nn.Sequential(OwnForward(2, 2, 3)))
    with pytest.raises(TypeError, match=r"instance has attributes a Conv1d "
                       r"has not: \['scale'\]"):
        convert_to_gmconv(nn.Sequential(Annotated()))


def test_torchvision_r3d_18_converts_trains_and_folds_to_its_architecture():
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    model = torchvision.models.video.r3d_18(num_classes=3)
    types = {n: type(m) for n, m in model.named_modules()}
    keys = set(model.state_dict())
    convert_to_gmconv(model, stem='stem.0', sigma_init=2.0)
    assert type(model.stem[0]) is DGMConv3d
    assert type(model.layer1[0].conv1[0]) is SGMConv3d
    clip = torch.randn(2, 3, 2, 16, 16)
    loss = model(clip).logsumexp(1).mean()
    loss.backward()
    assert model.layer1[0].conv1[0].sigma.grad.abs() > 0
    assert model.stem[0].sigma_predictor.fc2.weight.grad.abs().sum() > 0
    # folding: everything but the D-GMConv stem is the original again
    model.eval()
    with torch.no_grad():
        expected = model(clip)
    fuse_gmconv(model)
    folded_types = {n: type(m) for n, m in model.named_modules()}
    assert {n: t for n, t in folded_types.items()
            if not n.startswith('stem.0')} == \
        {n: t for n, t in types.items() if not n.startswith('stem.0')}
    assert {k for k in model.state_dict()
            if not k.startswith('stem.0.sigma_predictor')} == keys
    with torch.no_grad():
        torch.testing.assert_close(model(clip), expected)


@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES)
@pytest.mark.parametrize('cls,shape', [(SGMConv1d, (2, 3, 12)),
                                       (DGMConv1d, (2, 3, 12)),
                                       (SGMConv3d, (2, 3, 3, 6, 6)),
                                       (DGMConv3d, (2, 3, 3, 6, 6))])
def test_autocast_has_no_nan(cls, shape, dtype):
    conv = cls(3, 4, 3, padding=1, sigma_init=1e-2)
    with torch.autocast('cpu', dtype=dtype):
        out = conv(torch.randn(*shape) * 100)
    assert out.dtype == dtype and torch.isfinite(out).all()
    out.float().sum().backward()
    for p in conv.parameters():
        assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize('cls,plain,new_keys', [
    (SGMConv1d, nn.Conv1d, {'sigma'}),
    (SGMConv3d, nn.Conv3d, {'sigma'}),
    (DGMConv1d, nn.Conv1d, {'sigma_predictor.fc1.weight',
                            'sigma_predictor.fc2.weight',
                            'sigma_predictor.fc2.bias'}),
    (DGMConv3d, nn.Conv3d, {'sigma_predictor.fc1.weight',
                            'sigma_predictor.fc2.weight',
                            'sigma_predictor.fc2.bias'}),
])
def test_plain_state_dict_loads_with_only_new_keys_missing(cls, plain,
                                                           new_keys):
    conv = cls(3, 4, 3)
    result = conv.load_state_dict(plain(3, 4, 3).state_dict(), strict=False)
    assert set(result.missing_keys) == new_keys
    assert not result.unexpected_keys


@pytest.mark.parametrize('cls,shape', [(SGMConv3d, (1, 2, 3, 5, 5)),
                                       (DGMConv1d, (1, 2, 9))])
def test_meta_build_then_to_empty_and_reset_parameters(cls, shape):
    with torch.device('meta'):
        conv = cls(2, 3, 3, sigma_init=2.0)
    conv.to_empty(device='cpu')
    conv.reset_parameters()
    conv(torch.randn(*shape))
    if cls is SGMConv3d:
        assert conv.sigma.item() == 2.0
    else:
        assert conv.last_sigmas.eq(2.0).all()


def test_output_follows_in_place_edits_of_weight_and_sigma():
    conv = SGMConv3d(2, 2, 3, padding=1).eval()
    x = torch.randn(1, 2, 3, 4, 4)
    before = conv(x)
    with torch.no_grad():
        conv.sigma.fill_(0.5)
    after_sigma = conv(x)
    assert not torch.allclose(before, after_sigma)
    conv.load_state_dict({**conv.state_dict(),
                          'weight': torch.zeros_like(conv.weight)})
    torch.testing.assert_close(conv(x), conv.bias.view(1, -1, 1, 1, 1)
                               .expand_as(before))


# --- issue 30: every D-GMConv (2D, 1D, 3D) on a kernel with nothing to
# mask is a plain conv; a non-finite input is named as the input ---

#: (class, a kernel with nothing to mask, one with a mask, input shape)
D_GMCONVS = [
    (DGMConv, (1, 1), (1, 3), (3, 6, 7)),
    (DGMConv, (2, 2), 3, (3, 6, 7)),
    (DGMConv1d, 1, 3, (3, 9)),
    (DGMConv1d, 2, 3, (3, 9)),
    (DGMConv3d, 1, (3, 1, 1), (3, 4, 5, 5)),
    (DGMConv3d, (2, 1, 2), (1, 1, 3), (3, 4, 5, 5)),
]


@pytest.mark.parametrize('cls,flat,masked,shape', D_GMCONVS)
def test_dgmconv_without_a_mask_is_a_plain_conv(cls, flat, masked, shape):
    """A 1x1 D-GMConv built a predictor that never acted (the pure
    D-GMConv ResNet-50: 55.8 M of dead parameters)."""
    torch.manual_seed(0)
    layer = cls(3, 4, flat, padding=1, sigma_init=2.0)
    assert layer.sigma_predictor is None
    assert not any('sigma_predictor' in k for k in layer.state_dict())
    plain = {2: nn.Conv2d, 1: nn.Conv1d, 3: nn.Conv3d}[len(shape) - 1](
        3, 4, flat, padding=1)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(2, *shape)
    torch.testing.assert_close(layer(x), plain(x), rtol=0, atol=0)
    assert layer.last_sigmas is None
    # a kernel with a mask along one axis keeps its predictor
    assert cls(3, 4, masked).sigma_predictor is not None
    # the arguments are still checked
    with pytest.raises(ValueError, match='reduction must be a finite'):
        cls(3, 4, flat, reduction=0)
    with pytest.raises(ValueError, match='pred_pattern of'):
        cls(3, 4, flat, pred_pattern='nope')


@pytest.mark.parametrize('cls,flat,masked,shape', D_GMCONVS[::2])
def test_old_checkpoint_with_a_dead_predictor_loads_with_a_warning(
        cls, flat, masked, shape):
    """mmgmconv 0.1.0 saved a predictor for such layers: its keys are
    dropped with a warning naming the layer (not silently: torch ignores
    keys of a None submodule), even in a strict load."""
    torch.manual_seed(0)
    net = nn.Sequential(cls(3, 4, flat))
    old = dict(net.state_dict())
    predictor = SigmaPredictor(3, 2)
    old.update({f'0.sigma_predictor.{k}': v
                for k, v in predictor.state_dict().items()})
    fresh = nn.Sequential(cls(3, 4, flat))
    with LogLines() as lines:
        fresh.load_state_dict(old, strict=True)
    (line, ) = [t for t in lines if 'sigma predictor' in t]
    assert line.startswith(
        "0: dropped the checkpoint's sigma predictor (0.sigma_predictor."
        "fc1.weight, 0.sigma_predictor.fc2.weight, 0.sigma_predictor.fc2."
        f'bias): this {cls.__name__} has a kernel of '
        f'{fresh[0].kernel_size}, which has nothing to mask'), line
    assert torch.equal(fresh[0].weight, net[0].weight)
    assert 'sigma_predictor.fc1.weight' in ''.join(old)  # the caller's dict


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
@pytest.mark.parametrize('cls,flat,masked,shape', D_GMCONVS[::2])
def test_non_finite_input_is_named_as_the_input(cls, flat, masked, shape,
                                                bad):
    """It was blamed on 'a diverged training step or a broken
    checkpoint'."""
    layer = cls(3, 4, masked)
    x = torch.randn(4, *shape)
    x[1].view(-1)[5] = bad
    x[3].view(-1)[:2] = bad
    kernel = layer.kernel_size
    with pytest.raises(ValueError) as error:
        layer(x)
    assert str(error.value) == (
        f'{cls.__name__}(3, 4, kernel_size={kernel}): the input to this '
        f'layer has NaN or inf values in some image of the batch (from the '
        f"data or an earlier layer, not from this layer's weights): "
        f'image(s) [1, 3] of the batch of 4 hold [1, 2] non-finite values')
    layer.layer_name = 'Net.block.conv'
    with pytest.raises(ValueError, match=f'^{cls.__name__} Net.block.conv: '
                       'the input to this layer has NaN or inf values'):
        layer(x[1])  # unbatched: image 0 of a batch of 1
    layer(x[[0, 2]])  # the finite images alone


@pytest.mark.parametrize('cls,flat,masked,shape', D_GMCONVS[::2])
def test_non_finite_sigma_from_finite_input_blames_the_weights(
        cls, flat, masked, shape):
    layer = cls(3, 4, masked)
    layer.sigma_predictor.fc2.bias.data.fill_(float('nan'))
    with pytest.raises(ValueError, match='must be finite, got a NaN or inf '
                       'sigma .a diverged training step or a broken '
                       'checkpoint'):
        layer(torch.randn(2, *shape))


@pytest.mark.parametrize('cls', [SGMConv1d, SGMConv3d])
def test_folded_checkpoint_into_1d_3d_sgmconv_raises_how_to_load(cls):
    """The guard was SGMConv's (2D) only: a folded SGMConv1d / 3d weight
    W * M was masked a second time."""
    torch.manual_seed(0)
    net = nn.Sequential(cls(2, 3, 3, sigma_init=0.8))
    folded = fuse_gmconv(copy.deepcopy(net)).state_dict()
    folded[f'0.{FOLDED_KEY}'] = torch.tensor(True)  # as the policy adds it
    plain = cls.plain_conv.__name__
    for strict in (True, False):
        with pytest.raises(ValueError, match=re.escape(
                f'0: the checkpoint holds a folded S-GMConv (key '
                f'0.{FOLDED_KEY}, ') + '.*' + re.escape(
                    f'but this layer is an {cls.__name__}, which would mask '
                    f'it a second time. Build it as a plain conv ({plain}) '
                    f'instead')):
            net.load_state_dict(folded, strict=strict)
    # no mask (kernel <= 2): the folded weight is the weight
    flat = nn.Sequential(cls(2, 3, 2))
    weights = {'0.weight': torch.randn_like(flat[0].weight),
               '0.bias': flat[0].bias, f'0.{FOLDED_KEY}': torch.tensor(True)}
    flat.load_state_dict(weights)
    assert torch.equal(flat[0].weight, weights['0.weight'])


def test_non_finite_input_check_is_asynchronous_where_it_must_be(
        monkeypatch):
    """Where a host ``if`` would wait for the device (an accelerator,
    torch.compile), the check is ``torch._assert_async``, whose message
    names the layer and the input but not the images (that would need the
    values on the host). Simulated on the CPU, where the assert raises at
    once."""
    import importlib

    # the module (mmgmconv.ops.gaussian_mask is also its function's name)
    masks = importlib.import_module('mmgmconv.ops.gaussian_mask')
    monkeypatch.setattr(masks, '_is_compiling', lambda: True)
    layer = DGMConv1d(2, 2, 3)
    layer.layer_name = 'Net.conv'
    x = torch.randn(3, 2, 7)
    x[1, 0, 0] = float('nan')
    with pytest.raises(RuntimeError, match=re.escape(
            'DGMConv1d Net.conv: the input to this layer has NaN or inf '
            'values in some image of the batch (from the data or an earlier '
            "layer, not from this layer's weights)")) as error:
        layer(x)
    assert 'image(s)' not in str(error.value)
