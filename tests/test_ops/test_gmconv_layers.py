import re

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_conv_layer
from mmengine.model import initialize
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import load_state_dict
from torch import nn

from cpu_autocast import AUTOCAST_DTYPES
from mmgmconv import DGMConv, SGMConv, SigmaPredictor, gaussian_mask
from mmgmconv.ops import SIGMA_INIT_RANGE

CONV_ARGS = [
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=4, stride=2, padding=1),
    dict(in_channels=4, out_channels=8, kernel_size=(3, 5), padding=(1, 2),
         dilation=2, groups=2, bias=True),
    dict(in_channels=6, out_channels=6, kernel_size=7, padding=3, groups=6),
    dict(in_channels=3, out_channels=5, kernel_size=11, stride=4, padding=2),
]


@pytest.mark.parametrize('args', CONV_ARGS)
def test_sgmconv_is_conv_with_masked_kernel(args):
    torch.manual_seed(0)
    conv = SGMConv(**args, sigma_init=1.3)
    x = torch.randn(2, args['in_channels'], 17, 19)
    w = conv.weight * gaussian_mask(conv.kernel_size, 1.3)
    ref = F.conv2d(x, w, conv.bias, conv.stride, conv.padding, conv.dilation,
                   conv.groups)
    torch.testing.assert_close(conv(x), ref)
    conv(x).sum().backward()
    assert conv.sigma.grad is not None and conv.sigma.grad.abs() > 0
    assert conv.weight.grad.abs().sum() > 0


def test_sgmconv_1x1_is_plain_conv():
    conv = SGMConv(4, 3, 1, bias=True)
    assert conv.sigma is None and 'sigma' not in conv.state_dict()
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight, conv.bias))


def per_image_reference(conv, x):
    outs = []
    for i in range(x.shape[0]):
        s1, s2 = conv.predict_sigmas(x[i:i + 1])
        w = conv.weight * gaussian_mask(conv.kernel_size, s1[0], s2[0])
        outs.append(
            F.conv2d(x[i:i + 1], w, conv.bias, conv.stride, conv.padding,
                     conv.dilation, conv.groups))
    return torch.cat(outs)


def randomise_predictor(conv):
    torch.nn.init.normal_(conv.sigma_predictor.fc2.weight, std=0.5)
    torch.nn.init.normal_(conv.sigma_predictor.fc2.bias, std=0.5)


@pytest.mark.parametrize('args', CONV_ARGS)
@pytest.mark.parametrize('pattern', ['sigma', 'sigma1_sigma2', 'sigma1_ratio'])
def test_dgmconv_matches_per_image_conv(args, pattern):
    torch.manual_seed(0)
    conv = DGMConv(**args, pred_pattern=pattern, sigma_init=2.0)
    randomise_predictor(conv)
    x = torch.randn(3, args['in_channels'], 17, 19)
    torch.testing.assert_close(conv(x), per_image_reference(conv, x))
    s1, s2 = conv.predict_sigmas(x)
    assert s1.shape == s2.shape == (3, )
    assert not torch.allclose(s1, s1[:1].expand(3))  # per image
    if pattern == 'sigma':
        torch.testing.assert_close(s1, s2)


def test_dgmconv_reflect_padding_matches_reference():
    torch.manual_seed(0)
    conv = DGMConv(3, 4, 3, padding=1, padding_mode='reflect')
    randomise_predictor(conv)
    x = torch.randn(2, 3, 8, 8)
    ref = []
    for i in range(2):
        s1, s2 = conv.predict_sigmas(x[i:i + 1])
        w = conv.weight * gaussian_mask(3, s1[0], s2[0])
        ref.append(F.conv2d(F.pad(x[i:i + 1], (1, 1, 1, 1), mode='reflect'),
                            w, conv.bias))
    torch.testing.assert_close(conv(x), torch.cat(ref))


def test_dgmconv_starts_at_sigma_init_and_learns():
    torch.manual_seed(0)
    conv = DGMConv(3, 8, 7, stride=2, padding=3, sigma_init=4.0)
    x = torch.randn(4, 3, 16, 16)
    s1, s2 = conv.predict_sigmas(x)
    torch.testing.assert_close(s1, torch.full((4, ), 4.0))
    torch.testing.assert_close(s2, s1)
    conv(x).pow(2).mean().backward()
    fc2 = conv.sigma_predictor.fc2
    assert fc2.weight.grad.abs().sum() > 0 and fc2.bias.grad.abs().sum() > 0
    assert conv.last_sigmas.shape == (4, 2)
    # hidden width floor(2C / (4/3)) = 4 for C = 3
    assert conv.sigma_predictor.fc1.out_features == 4


def test_sigma_predictor_is_eq7():
    """F(z) = W1 ReLU(W0 z) + B1: the first FC has no bias."""
    torch.manual_seed(0)
    pred = SigmaPredictor(3, 2)
    assert pred.fc1.bias is None
    assert set(pred.state_dict()) == {'fc1.weight', 'fc2.weight', 'fc2.bias'}
    nn.init.normal_(pred.fc2.weight)
    x = torch.randn(4, 3, 5, 6)
    z = torch.cat([x.amax(dim=(2, 3)), x.mean(dim=(2, 3))], dim=1)
    expected = (pred.fc1.weight @ z.T).relu().T @ pred.fc2.weight.T \
        + pred.fc2.bias
    torch.testing.assert_close(pred(x), expected)


@pytest.mark.parametrize('load', ['torch', 'mmengine'])
def test_checkpoint_with_biased_first_fc_is_refused(load):
    conv = DGMConv(3, 8, 7, padding=3)
    old = {**conv.state_dict(), 'sigma_predictor.fc1.bias': torch.zeros(4)}
    with pytest.raises(ValueError,
                       match=r'sigma_predictor.fc1.bias is in the checkpoint'
                       r'.*eq. 7 .* has none'):
        if load == 'torch':
            conv.load_state_dict(old, strict=False)
        else:
            load_state_dict(nn.Sequential(conv), {
                f'0.{k}': v
                for k, v in old.items()
            }, strict=False)


def test_dgmconv_sigma_bounds():
    conv = DGMConv(3, 4, 3, sigma_init=2.0, sigma_range=10.0)
    torch.nn.init.constant_(conv.sigma_predictor.fc2.bias, 1e4)
    s1, s2 = conv.predict_sigmas(torch.randn(2, 3, 5, 5))
    torch.testing.assert_close(s1, torch.full((2, ), 20.0))
    torch.testing.assert_close(s2, torch.full((2, ), 200.0))
    torch.nn.init.constant_(conv.sigma_predictor.fc2.bias, -1e4)
    s1, _ = conv.predict_sigmas(torch.randn(2, 3, 5, 5))
    torch.testing.assert_close(s1, torch.full((2, ), 0.2))


@pytest.mark.slow
def test_gradcheck_float64():
    torch.manual_seed(0)
    sconv = SGMConv(2, 2, 3, padding=1, sigma_init=1.5).double()
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda inp, s: F.conv2d(inp, sconv.weight * gaussian_mask(3, s),
                                padding=1), (x, sconv.sigma))
    assert torch.autograd.gradcheck(sconv, (x, ))
    dconv = DGMConv(2, 2, 3, padding=1, sigma_init=1.5).double()
    randomise_predictor(dconv)
    x2 = torch.randn(2, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(dconv, (x2, ))


@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES)
@pytest.mark.parametrize('cls', [SGMConv, DGMConv])
def test_autocast_has_no_nan(cls, dtype):
    conv = cls(3, 8, 7, padding=3, sigma_init=1e-2)
    x = torch.randn(2, 3, 12, 12) * 100
    with torch.autocast('cpu', dtype=dtype):
        out = conv(x)
    assert out.dtype == dtype and torch.isfinite(out).all()
    out.float().sum().backward()
    for p in conv.parameters():
        assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize('scope', [None, 'mmdet', 'mmpretrain'])
@pytest.mark.parametrize('cfg', [
    dict(type='SGMConv'),
    dict(type='SGMConv', sigma_init=2.0),
    dict(type='DGMConv', pred_pattern='sigma1_sigma2')
])
def test_build_from_registry_in_scope(scope, cfg):
    if scope is None:
        conv = build_conv_layer(cfg, 3, 8, 3, padding=1)
        module = ConvModule(3, 8, 3, padding=1, conv_cfg=cfg,
                            norm_cfg=dict(type='BN'))
    else:
        with DefaultScope.overwrite_default_scope(scope):
            conv = build_conv_layer(cfg, 3, 8, 3, padding=1)
            module = ConvModule(3, 8, 3, padding=1, conv_cfg=cfg,
                                norm_cfg=dict(type='BN'))
    assert type(conv).__name__ == cfg['type']
    assert type(module.conv).__name__ == cfg['type']
    module.init_weights()
    assert module(torch.randn(2, 3, 9, 9)).shape == (2, 8, 9, 9)


@pytest.mark.parametrize('conv_type', ['SGMConv', 'DGMConv'])
def test_conv_module_efficient_bn_eval_applies_mask(conv_type):
    torch.manual_seed(0)
    module = ConvModule(3, 4, 3, padding=1, conv_cfg=dict(
        type=conv_type, sigma_init=0.4), norm_cfg=dict(type='BN'),
                        efficient_conv_bn_eval=True).eval()
    module.norm.running_mean.normal_()
    module.norm.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 3, 8, 8)
    expected = module.activate(module.norm(module.conv(x)))
    # efficient_conv_bn_eval is only used when the BN is in eval mode and the
    # conv still gets gradients (fine-tuning with frozen BN)
    out = module(x)
    assert module.conv.weight.requires_grad
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    plain = F.conv2d(x, module.conv.weight, None, 1, 1)
    assert not torch.allclose(module.norm(plain).relu(), out, atol=1e-3)


@pytest.mark.parametrize('cls', [SGMConv, DGMConv])
def test_kaiming_init_by_layer_name(cls):
    conv = cls(3, 8, 3)
    nn.init.zeros_(conv.weight)
    initialize(conv, dict(type='Kaiming', layer='Conv2d'))
    assert conv.weight.abs().sum() > 0


@pytest.mark.parametrize('cls,new_keys', [
    (SGMConv, {'sigma'}),
    (DGMConv, {'sigma_predictor.fc1.weight', 'sigma_predictor.fc2.weight',
               'sigma_predictor.fc2.bias'}),
])
def test_plain_state_dict_loads_with_only_new_keys_missing(cls, new_keys):
    plain = nn.Conv2d(3, 8, 3, bias=True)
    conv = cls(3, 8, 3, bias=True)
    result = conv.load_state_dict(plain.state_dict(), strict=False)
    assert set(result.missing_keys) == new_keys
    assert result.unexpected_keys == []
    assert torch.equal(conv.weight, plain.weight)


@pytest.mark.parametrize('kwargs,match', [
    (dict(sigma_init=0), 'sigma_init must be finite and > 0, got 0'),
    (dict(sigma_init=-5.0), 'sigma_init must be finite and > 0'),
    (dict(sigma_init=float('nan')), 'sigma_init must be finite'),
    (dict(sigma_init=float('inf')), 'sigma_init must be finite'),
])
@pytest.mark.parametrize('cls', [SGMConv, DGMConv])
def test_bad_sigma_init(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(3, 4, 3, **kwargs)


@pytest.mark.parametrize('kwargs,match', [
    (dict(reduction=0), 'reduction must be a finite number > 0, got 0'),
    (dict(reduction=-1.5), 'reduction must be'),
    (dict(reduction=100), r'reduction=100 leaves floor\(2 \* 3 / reduction\)'),
    (dict(pred_pattern='sigma_ratio'),
     r"pred_pattern of DGMConv must be one of \['sigma', 'sigma1_ratio', "
     r"'sigma1_sigma2'\], got 'sigma_ratio'"),
    (dict(sigma_range=1.0), 'sigma_range must be > 1, got 1.0'),
])
def test_bad_dgmconv_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DGMConv(3, 4, 3, **kwargs)


@pytest.mark.parametrize('edit', ['sigma', 'weight', 'state_dict'])
@pytest.mark.parametrize('training,grad', [(False, False), (False, True),
                                           (True, False)])
def test_sgmconv_output_follows_in_place_edits(edit, training, grad):
    """After a forward, .data edits (which bump no version counter) and
    load_state_dict show in the next output (issue 19: the eval cache
    kept the old masked weight)."""
    torch.manual_seed(0)
    conv = SGMConv(3, 4, 3, padding=1, sigma_init=1.0).train(training)
    x = torch.randn(1, 3, 6, 6)

    def reference():
        w = conv.weight * gaussian_mask(3, conv.sigma.detach())
        return F.conv2d(x, w, conv.bias, padding=1)

    with torch.set_grad_enabled(grad):
        conv(x)
        if edit == 'sigma':
            conv.sigma.data.fill_(0.3)
        elif edit == 'weight':
            conv.weight.data.copy_(torch.randn(4, 3, 3, 3))
        else:
            conv.load_state_dict({**conv.state_dict(),
                                  'weight': torch.randn(4, 3, 3, 3),
                                  'sigma': torch.tensor(0.3)})
        torch.testing.assert_close(conv(x), reference())


@pytest.mark.parametrize('value', [1e-300, 1e-4, 2e4, 1e300])
@pytest.mark.parametrize('cls', [SGMConv, DGMConv])
def test_sigma_init_outside_the_range(cls, value):
    """1e300 became an inf parameter and 1e-300 a zero one (issue 19)."""
    with pytest.raises(ValueError, match=r'sigma_init must be in '
                       r'\[0.001, 10000\] .*got ' + re.escape(repr(value))):
        cls(3, 4, 3, sigma_init=value)


@pytest.mark.parametrize('cls', [SGMConv, DGMConv])
def test_sigma_init_at_the_range_ends(cls):
    for value in SIGMA_INIT_RANGE:
        conv = cls(3, 4, 3, sigma_init=value)
        assert conv.sigma_init == value
        out = conv(torch.randn(1, 3, 5, 5))
        assert torch.isfinite(out).all()


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_sigma_in_forward_raises(bad):
    conv = SGMConv(3, 4, 3)
    conv.sigma.data.fill_(bad)
    with pytest.raises(ValueError, match='sigma1 must be finite.*' +
                       str(bad)):
        conv(torch.randn(1, 3, 5, 5))
    dconv = DGMConv(3, 4, 3)  # a finite input, a broken predictor
    dconv.sigma_predictor.fc2.bias.data.fill_(float('nan'))
    with pytest.raises(ValueError, match='sigma1 must be finite'):
        dconv(torch.randn(1, 3, 5, 5))


@pytest.mark.parametrize('kernel_size', [1, 2, (1, 2), (2, 1)])
def test_kernels_up_to_2x2_have_no_sigma(kernel_size):
    """Their mask is all ones whatever sigma is: a sigma there had a
    gradient of exactly 0 (issue 22); convert_to_gmconv skips them too."""
    conv = SGMConv(3, 4, kernel_size)
    assert conv.sigma is None and 'sigma' not in conv.state_dict()
    plain = nn.Conv2d(3, 4, kernel_size)
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(1, 3, 5, 5)
    torch.testing.assert_close(conv(x), plain(x))
    # an old checkpoint with a (meaningless) sigma still loads
    conv.load_state_dict({**plain.state_dict(), 'sigma': torch.tensor(2.0)})
    assert SGMConv(3, 4, (1, 3)).sigma is not None


def test_reset_parameters_after_to_empty_restores_sigma_init():
    """On the meta device sigma_init and the predictor's zero start were
    lost by to_empty (issue 19); reset_parameters, in any module order,
    restores them."""
    with torch.device('meta'):
        model = nn.Sequential(DGMConv(3, 4, 3, sigma_init=2.0),
                              SGMConv(4, 4, 3, sigma_init=3.0))
    model.to_empty(device='cpu')
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float('nan'))
    for order in (list(model.modules()), list(model.modules())[::-1]):
        for module in order:
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()
        assert model[1].sigma.item() == 3.0
        fc2 = model[0].sigma_predictor.fc2
        assert fc2.weight.eq(0).all() and fc2.bias.eq(0).all()
        assert torch.isfinite(model[0].sigma_predictor.fc1.weight).all()
        model(torch.randn(2, 3, 6, 6))
        assert model[0].last_sigmas.eq(2.0).all()


def test_dgmconv_takes_unbatched_input_like_conv2d():
    torch.manual_seed(0)
    conv = DGMConv(3, 4, 3, padding=1).eval()
    with torch.no_grad():
        for p in conv.sigma_predictor.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(3, 6, 7)
    with torch.no_grad():
        out = conv(x)
        torch.testing.assert_close(out, conv(x[None])[0])
    assert out.shape == nn.Conv2d(3, 4, 3, padding=1)(x).shape


@pytest.mark.parametrize('shape', [(2, 3, 0, 0), (3, 0, 0), (1, 3, 0, 5),
                                   (0, 3, 5, 5), (0, 3, 0, 0)])
@pytest.mark.parametrize('padding', [0, 2])
def test_dgmconv_on_empty_input_does_what_conv2d_does(shape, padding):
    """An image with no pixels raised IndexError in the predictor (issue
    19); now DGMConv gives nn.Conv2d's output, or nn.Conv2d's error."""
    torch.manual_seed(0)
    conv = DGMConv(3, 4, 3, padding=padding, bias=True)
    plain = nn.Conv2d(3, 4, 3, padding=padding, bias=True)
    plain.load_state_dict(conv.state_dict(), strict=False)
    x = torch.randn(shape)
    try:
        expected = plain(x)
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match=re.escape(str(error))):
            conv(x)
    else:
        torch.testing.assert_close(conv(x), expected)
        if x.shape[-1] == 0:
            assert conv.last_sigmas.eq(conv.sigma_init).all()


@pytest.mark.parametrize('shape', [(1, 2, 5, 5), (2, 5, 5), (5, 5),
                                   (1, 1, 3, 5, 5)])
def test_dgmconv_bad_input_shape_names_expected_channels(shape):
    conv = DGMConv(3, 4, 3)
    with pytest.raises(ValueError, match=re.escape(
            f'DGMConv expects input of shape (B, 3, H, W) or (3, H, W) '
            f'(in_channels=3), got {shape}')):
        conv(torch.randn(shape))


def test_named_gmconv_layers_lists_layers_with_a_mask_in_order():
    from mmgmconv.ops import named_gmconv_layers
    model = nn.Sequential(SGMConv(3, 4, 3), nn.Conv2d(4, 4, 3),
                          SGMConv(4, 4, 1), nn.Sequential(DGMConv(4, 4, 5)))
    assert [(n, type(m)) for n, m in named_gmconv_layers(model)] == [
        ('0', SGMConv), ('3.0', DGMConv)]
