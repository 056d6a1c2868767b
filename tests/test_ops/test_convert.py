"""convert_to_gmconv on torchvision, timm and hand-made models."""
import copy
import importlib.util
from pathlib import Path

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from mmgmconv import (
    DGMConv,
    SGMConv,
    convert_to_gmconv,
    fuse_gmconv,
    gaussian_mask,
)

# (builder, D-GMConv stem): each built without downloading weights.
MODELS = {
    'tv_resnet50':
    (lambda: torchvision.models.resnet50(weights=None), 'conv1'),
    'tv_mobilenet_v2':
    (lambda: torchvision.models.mobilenet_v2(weights=None), 'features.0.0'),
    'timm_resnet18': (lambda: timm.create_model('resnet18'), 'conv1'),
    'timm_convnext_atto':
    (lambda: timm.create_model('convnext_atto'), 'stem.0'),
}


def build(key, seed=0):
    torch.manual_seed(seed)
    return MODELS[key][0]()


def masked_conv_names(model):
    """Convs whose mask can differ from 1: larger than 2x2."""
    return {
        name
        for name, m in model.named_modules()
        if type(m) is nn.Conv2d and max(m.kernel_size) > 2
    }


def paper_mask(kernel_size, sigma1, sigma2):
    """Eq. 5-6 written out: exp(-(x^2/s1^2 + y^2/s2^2)/2) / its max."""
    kh, kw = kernel_size
    y = torch.arange(kh, dtype=torch.float64) - (kh - 1) / 2
    x = torch.arange(kw, dtype=torch.float64) - (kw - 1) / 2
    s1, s2 = float(sigma1.detach()), float(sigma2.detach())
    m = torch.exp(-(x[None]**2 / s1**2 + y[:, None]**2 / s2**2) / 2)
    return m / m.max()


def reference_conv(layer, x, mask):
    """``F.conv2d`` of ``x`` with ``layer.weight * mask``."""
    weight = layer.weight * mask.to(layer.weight.dtype)
    padding = layer.padding
    if layer.padding_mode != 'zeros':
        (ph, pw), padding = layer.padding, 0
        x = F.pad(x, (pw, pw, ph, ph), mode=layer.padding_mode)
    return F.conv2d(x, weight, layer.bias, layer.stride, padding,
                    layer.dilation, layer.groups)


def randomise_sigmas(model):
    """Sigmas away from 5 (where small masks are all near 1)."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, SGMConv):
            m.sigma.data.copy_(
                torch.empty(()).uniform_(0.4, 3.0, generator=gen))
        if isinstance(m, DGMConv):  # live hidden units, non-zero output
            predictor = m.sigma_predictor  # (fc1 has no bias, eq. 7)
            nn.init.uniform_(predictor.fc1.weight, 0.0, 0.5, generator=gen)
            nn.init.normal_(predictor.fc2.weight, std=0.3, generator=gen)


def check_layers_compute_masked_conv(model, x):
    """Run ``model`` on ``x``; each GMConv's output against the reference."""
    seen = []

    def record(layer, inputs, output):
        seen.append((layer, inputs[0], output))

    handles = [
        m.register_forward_hook(record) for m in model.modules()
        if isinstance(m, (SGMConv, DGMConv))
    ]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    assert seen
    for layer, inp, out in seen:
        if isinstance(layer, DGMConv):
            ref = torch.cat([
                reference_conv(layer, inp[i:i + 1],
                               paper_mask(layer.kernel_size, s1, s2))
                for i, (s1, s2) in enumerate(layer.last_sigmas)
            ])
        else:
            ref = reference_conv(
                layer, inp,
                paper_mask(layer.kernel_size, layer.sigma, layer.sigma))
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    return seen


@pytest.mark.parametrize('key', sorted(MODELS))
def test_converted_model_keys_types_and_plain_checkpoint(key):
    plain = build(key, seed=0)
    plain_sd = plain.state_dict()
    stem = MODELS[key][1]
    model = build(key, seed=1)
    masked = masked_conv_names(model)
    types = {name: type(m) for name, m in model.named_modules()}
    weight_ids = {n: id(p) for n, p in model.named_parameters()}
    assert convert_to_gmconv(model, stem=stem) is model

    for name, old_type in types.items():
        expected = (DGMConv if name == stem else
                    SGMConv) if name in masked else old_type
        assert type(model.get_submodule(name)) is expected, name
    predictor_keys = [
        k for k in DGMConv(3, 8, 3).state_dict() if k not in ('weight', 'bias')
    ]
    gmconv_keys = {f'{n}.sigma' for n in masked - {stem}}
    gmconv_keys |= {f'{stem}.{k}' for k in predictor_keys}
    assert set(model.state_dict()) == set(plain_sd) | gmconv_keys
    # weight and bias are the old parameter objects, not copies
    assert all(
        id(p) == weight_ids[n] for n, p in model.named_parameters()
        if n in weight_ids)

    result = model.load_state_dict(plain_sd, strict=False)
    assert set(result.missing_keys) == gmconv_keys
    assert result.unexpected_keys == []
    for name, value in model.state_dict().items():
        if name in plain_sd:
            assert torch.equal(value, plain_sd[name]), name


@pytest.mark.parametrize('key', sorted(MODELS))
def test_converted_layers_compute_masked_conv(key):
    model = convert_to_gmconv(build(key), stem=MODELS[key][1]).eval()
    randomise_sigmas(model)
    x = torch.randn(2, 3, 64, 64) * torch.tensor([0.5, 2.0])[:, None, None,
                                                             None]
    seen = check_layers_compute_masked_conv(model, x)
    assert len(seen) == len(
        [m for m in model.modules() if isinstance(m, (SGMConv, DGMConv))])
    dgm = [layer for layer, _, _ in seen if isinstance(layer, DGMConv)]
    assert len(dgm) == 1 and not torch.equal(*dgm[0].last_sigmas)


@pytest.mark.parametrize('key', sorted(MODELS))
def test_fold_back_gives_the_plain_model_with_masked_weights(key):
    plain = build(key)
    model = convert_to_gmconv(copy.deepcopy(plain)).eval()
    randomise_sigmas(model)
    masked = {
        f'{name}.weight':
        m.weight * paper_mask(m.kernel_size, m.sigma, m.sigma).float()
        for name, m in model.named_modules() if isinstance(m, SGMConv)
    }
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        fuse_gmconv(model)
        after = model(x)
    assert {n: type(m) for n, m in model.named_modules()} == \
        {n: type(m) for n, m in plain.named_modules()}
    assert [n for n, _ in model.named_parameters()] == \
        [n for n, _ in plain.named_parameters()]
    assert masked
    folded = dict(model.named_parameters())
    for name, weight in masked.items():
        torch.testing.assert_close(folded[name], weight)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('key', ['timm_resnet18', 'timm_convnext_atto'])
def test_training_steps_update_weights_and_sigmas(key):
    """Two Adam steps move every sigma (the first step cannot reach those
    behind timm's zero-initialised last BN of a block)."""
    model = convert_to_gmconv(build(key), stem=MODELS[key][1]).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert any(n.endswith('.sigma') for n in before)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 3])
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all()
                   for p in model.parameters())
        opt.step()
    unchanged = [
        n for n, p in model.named_parameters() if torch.equal(p, before[n])
    ]
    assert unchanged == []


@pytest.mark.slow  # dynamo's first trace: seconds
def test_torch_compile_of_converted_model():
    """Dynamo traces a converted model as one graph, same values.

    ``aot_eager`` checks tracing and the autograd graph in seconds; the
    default inductor backend compiles C++ for minutes on a 2-core CPU.
    """
    torch.manual_seed(0)
    model = convert_to_gmconv(nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 4, 1)),
                              stem='0')
    randomise_sigmas(model)
    x = torch.randn(2, 3, 16, 16)
    compiled = torch.compile(model, backend='aot_eager', fullgraph=True)
    out = compiled(x)
    out.square().sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    eager = model(x)
    eager.square().sum().backward()
    torch.testing.assert_close(out, eager)
    for got, want in zip(grads, [p.grad for p in model.parameters()]):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize('conv_kwargs', [
    dict(stride=2, padding=1, dilation=1, groups=1, bias=True),
    dict(stride=1, padding=2, dilation=2, groups=4, bias=False),
    dict(stride=(2, 1), padding=(1, 2), groups=8, bias=True),
    dict(stride=1, padding='same', dilation=2, bias=True),
    dict(stride=1, padding=1, bias=True, padding_mode='reflect'),
    dict(stride=2, padding=(2, 1), bias=False, padding_mode='circular'),
])
@pytest.mark.parametrize('kind', ['SGMConv', 'DGMConv'])
def test_conv_arguments_carry_over(conv_kwargs, kind):
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, (3, 5), **conv_kwargs)
    net = nn.Sequential(nn.Identity(), conv)
    convert_to_gmconv(net, kind=kind, sigma_init=1.5)
    layer = net[1]
    assert type(layer).__name__ == kind
    for attr in ('in_channels', 'out_channels', 'kernel_size', 'stride',
                 'padding', 'dilation', 'groups', 'padding_mode'):
        assert getattr(layer, attr) == getattr(conv, attr), attr
    assert layer.weight is conv.weight and layer.bias is conv.bias
    if kind == 'SGMConv':
        assert layer.sigma.item() == 1.5
    else:
        assert layer.sigma_init == 1.5
    randomise_sigmas(net)
    check_layers_compute_masked_conv(net, torch.randn(3, 8, 11, 13))


@pytest.mark.parametrize('dtype', [torch.float64, torch.bfloat16])
def test_dtype_requires_grad_and_mode_carry_over(dtype):
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4,
                                                      3)).to(dtype).eval()
    net[0].requires_grad_(False)
    convert_to_gmconv(net, stem='1')
    assert not any(m.training for m in net.modules())
    assert all(p.dtype == dtype for p in net.parameters())
    assert not net[0].weight.requires_grad and not net[0].sigma.requires_grad
    assert all(p.requires_grad for p in net[1].parameters())
    assert net(torch.randn(2, 3, 9, 9, dtype=dtype)).dtype == dtype


def test_meta_device_is_refused_before_any_change():
    """On the meta device the new sigmas would have no values: after
    to_empty() and a plain checkpoint (which has no sigma) they held
    whatever was in memory. Refused, naming the convs and the way out."""
    with torch.device('meta'):
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3))
    with pytest.raises(ValueError, match=r"convs \['0', '1'\] are on the "
                       r'meta device .* Materialise the model first'):
        convert_to_gmconv(net, stem='0')
    assert [type(m) for m in net] == [nn.Conv2d, nn.Conv2d]
    real = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3))
    with torch.device('meta'):
        with pytest.raises(ValueError, match='the default device is meta'):
            convert_to_gmconv(real, stem='0')
    assert [type(m) for m in real] == [nn.Conv2d, nn.Conv2d]


def test_torchscript_modules_are_refused_with_the_way_out():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    for compiled in (torch.jit.script(net),
                     torch.jit.trace(net, torch.randn(1, 3, 8, 8))):
        with pytest.raises(TypeError, match=r'TorchScript module .* '
                           r'Convert the Python model first, then script'):
            convert_to_gmconv(compiled)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_carries_over():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3)).cuda()
    convert_to_gmconv(net, stem='0')
    assert all(p.is_cuda for p in net.parameters())
    check_layers_compute_masked_conv(net, torch.randn(2, 3, 9, 9).cuda())


def test_include_exclude_predicate_and_1x1():
    model = build('timm_resnet18')
    convert_to_gmconv(model,
                      include=['layer1.*', 'layer2.*'],
                      exclude='*.conv2',
                      predicate=lambda name, conv: conv.stride == (1, 1))
    converted = {n for n, m in model.named_modules() if isinstance(m, SGMConv)}
    assert converted == {'layer1.0.conv1', 'layer1.1.conv1', 'layer2.1.conv1'}
    assert type(model.layer2[0].downsample[0]) is nn.Conv2d  # 1x1


def test_convs_without_a_mask_and_converting_twice():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 1),
                        nn.Conv2d(4, 4, 2), nn.Conv2d(4, 4, (1, 2)),
                        nn.Conv2d(4, 4, (1, 3)))
    convert_to_gmconv(net)
    assert [type(m) for m in net] == [SGMConv] + [nn.Conv2d] * 3 + [SGMConv]
    for kernel in [(2, 2), (1, 2), (2, 1)]:  # all taps equally far out
        assert torch.equal(gaussian_mask(kernel, 0.1), torch.ones(kernel))
    first = net[0]
    convert_to_gmconv(net)
    assert net[0] is first and type(net[1]) is nn.Conv2d
    conv = nn.Conv2d(3, 4, 3)
    layer = convert_to_gmconv(conv, kind='DGMConv')
    assert isinstance(layer, DGMConv) and layer.weight is conv.weight


def test_shared_conv_is_replaced_everywhere():
    conv = nn.Conv2d(4, 4, 3, padding=1)
    net = nn.Sequential(conv, nn.ReLU(), conv)
    convert_to_gmconv(net)
    assert isinstance(net[0], SGMConv) and net[0] is net[2]
    fuse_gmconv(net)
    assert type(net[0]) is nn.Conv2d and net[0] is net[2]
    shared = nn.Conv2d(1, 1, 3)
    with pytest.raises(ValueError, match='chosen under some of its names'):
        convert_to_gmconv(nn.Sequential(shared, nn.Sequential(shared)),
                          exclude='1.0')


def test_non_plain_convs_are_refused_by_name():
    model = timm.create_model('tf_efficientnet_b0')  # Conv2dSame, pad='same'
    with pytest.raises(TypeError,
                       match=r'conv_stem \(timm\.layers\.'
                       r'conv2d_same\.Conv2dSame: Conv2dSame overrides '
                       r'forward\)'):
        convert_to_gmconv(model)
    assert not any(isinstance(m, SGMConv) for m in model.modules())
    convert_to_gmconv(model,
                      predicate=lambda name, conv: type(conv) is nn.Conv2d)
    assert any(isinstance(m, SGMConv) for m in model.modules())

    hooked = nn.Sequential(nn.Conv2d(2, 2, 3))
    hooked[0].register_forward_hook(lambda *args: None)
    with pytest.raises(TypeError, match='0 \\(it has hooks\\)'):
        convert_to_gmconv(hooked)
    reparam = nn.Sequential(nn.Conv2d(2, 2, 3))
    nn.utils.parametrizations.weight_norm(reparam[0])
    with pytest.raises(TypeError, match='Parametrized'):
        convert_to_gmconv(reparam)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(kind='sgm'), ValueError, r"one of \['DGMConv', 'SGMConv'\], got "
     r"'sgm'"),
    (dict(kind=SGMConv), ValueError, 'kind must be one of'),
    (dict(include='foo*'), ValueError, r"include pattern 'foo\*' matches no "
     r"conv with a kernel larger than 2x2; such convs are named like \['conv1'"
     ),
    (dict(include='*downsample*'), ValueError, 'larger than 2x2'),
    (dict(include=[]), ValueError, 'include must hold at least one pattern'),
    (dict(include=3), TypeError, 'include must be a pattern string'),
    (dict(exclude='nothing'), ValueError, "exclude pattern 'nothing'"),
    (dict(stem='layer9'), ValueError, "stem pattern 'layer9' matches no"),
    (dict(stem='conv1', exclude='conv1'), ValueError, "stem pattern 'conv1'"),
    (dict(predicate='conv'), TypeError, 'predicate must be a callable'),
    (dict(pred_pattern='sigma'), ValueError,
     r"'pred_pattern' is an argument of \['DGMConv'\], but no layer is "
     'converted to DGMConv'),
    (dict(foo=1), TypeError, r"unknown GMConv argument 'foo'; SGMConv takes "
     r"\['sigma_init'\]"),
    (dict(sigma_init=-1.0), ValueError, "converting 'conv1' to SGMConv: "
     'sigma_init must be finite and > 0, got -1.0'),
    (dict(stem='conv1', reduction=1000), ValueError,
     "converting 'conv1' to DGMConv: reduction=1000"),
])
def test_bad_arguments_name_the_value_and_change_nothing(kwargs, error, match):
    model = build('timm_resnet18')
    before = {n: type(m) for n, m in model.named_modules()}
    with pytest.raises(error, match=match):
        convert_to_gmconv(model, **kwargs)
    assert {n: type(m) for n, m in model.named_modules()} == before


def test_models_without_convs_or_modules_are_refused():
    with pytest.raises(ValueError, match='Linear has no nn.Conv1d, '
                       'nn.Conv2d, nn.Conv3d layer to convert'):
        convert_to_gmconv(nn.Linear(2, 2))
    with pytest.raises(TypeError, match='model must be an nn.Module'):
        convert_to_gmconv('resnet18')


@pytest.mark.slow
def test_plain_pytorch_example_trains_and_folds(capsys):
    path = Path(__file__).parents[2] / 'examples/train_digits_plain_pytorch.py'
    spec = importlib.util.spec_from_file_location('plain_example', path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(epochs=2)
    assert result['accuracy'] > 0.5  # chance: 0.1
    assert result['folded_accuracy'] == result['accuracy']
    assert result['max_logit_change'] < 1e-4
    assert 'conv1' in result['sigmas'] and 'layer4.1.conv2' in result['sigmas']
    assert 'learned sigmas:' in capsys.readouterr().out


# --- issue 19: sigma_init range ---

@pytest.mark.parametrize('value', [1e-300, float('nan'), 1e300])
def test_sigma_init_out_of_range_names_the_value(value):
    model = nn.Sequential(nn.Conv2d(3, 8, 3))
    with pytest.raises(ValueError, match=r"converting '0' to SGMConv: "
                       r'sigma_init must be'):
        convert_to_gmconv(model, sigma_init=value)
    assert type(model[0]) is nn.Conv2d
