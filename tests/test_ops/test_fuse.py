import re

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import get_state_dict
from torch import nn

from mmgmconv import DGMConv, SGMConv, convert_to_gmconv, fuse_gmconv
from mmgmconv.ops import FOLDED_KEY
from mmgmconv.ops.sgm_conv import FoldedConv2d

#: the SGMConv layers of small_net(SGMConv, stem=SGMConv)
FOLDED_NAMES = ('0', '3.0', '3.3', '3.4', '3.5')


def small_net(conv, stem=nn.Conv2d):
    """A tiny CNN whose convs are of class ``conv`` (stem: ``stem``)."""
    return nn.Sequential(
        stem(3, 8, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Sequential(
            conv(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
            nn.ReLU(), conv(8, 16, 1, bias=True),
            conv(16, 16, 3, padding=1, groups=16, bias=True),
            conv(16, 16, 4, stride=2, padding=1)),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))


def randomise(net):
    torch.manual_seed(0)
    for m in net.modules():
        if isinstance(m, SGMConv) and m.sigma is not None:
            m.sigma.data.uniform_(0.3, 3.0)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_fold_matches_and_has_plain_params():
    net = small_net(SGMConv, stem=SGMConv).eval()
    randomise(net)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = net(x)
        fused = fuse_gmconv(net)
        after = fused(x)
    assert fused is net
    assert not any(isinstance(m, SGMConv) for m in fused.modules())
    assert (after - before).abs().max() <= 1e-5
    plain = small_net(nn.Conv2d)
    assert n_params(fused) == n_params(plain)
    # exactly the original architecture: types, keys, a strict load
    assert [type(m) for m in fused.modules()] == \
        [type(m) for m in plain.modules()]
    assert list(fused.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(fused.state_dict(), strict=True)
    with torch.no_grad():
        assert (plain.eval()(x) - before).abs().max() <= 1e-5


def test_fold_keeps_dgmconv_and_training_flags():
    net = small_net(SGMConv, stem=DGMConv)
    randomise(net)
    net.train()
    fuse_gmconv(net)
    assert isinstance(net[0], DGMConv)
    assert all(m.training for m in net.modules())
    assert all(p.requires_grad for p in net.parameters())


def test_fold_single_layer_and_1x1():
    conv = SGMConv(4, 4, 3, padding=1, sigma_init=0.7, bias=True)
    plain = fuse_gmconv(conv)
    assert type(plain) is nn.Conv2d
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(plain(x), conv(x))
    one = SGMConv(4, 4, 1)
    torch.testing.assert_close(fuse_gmconv(one).weight, one.weight)


@pytest.mark.parametrize('dtype', [torch.float64, torch.bfloat16])
def test_fold_keeps_dtype(dtype):
    conv = SGMConv(2, 2, 3).to(dtype)
    assert fuse_gmconv(conv).weight.dtype == dtype


# --- a folded checkpoint is never masked a second time (issue 19) ---

def fused_small_net():
    net = small_net(SGMConv, stem=SGMConv).eval()
    randomise(net)
    return fuse_gmconv(net)


def save_fused_checkpoint(path, state, prefix=''):
    """A fused checkpoint as tools/fuse_gmconv.py writes it: the state dict
    (keys under ``prefix``) and a meta naming the folded layers."""
    torch.save(dict(meta={FOLDED_KEY: [prefix + n for n in FOLDED_NAMES]},
                    state_dict={prefix + k: v for k, v in state.items()}),
               path)


def test_fused_checkpoint_holds_no_marker_entries(tmp_path):
    """The meta names the folded layers; the state dict is the plain
    architecture's, in the file and in memory (a deep copy too); read
    through the policy, each named layer gets its entry."""
    import copy

    from mmgmconv.checkpoint_safety import load_checkpoint_file
    fused = fused_small_net()
    plain_keys = set(small_net(nn.Conv2d).state_dict())
    assert set(get_state_dict(fused)) == plain_keys
    assert set(copy.deepcopy(fused).state_dict()) == plain_keys
    path = str(tmp_path / 'fused.pth')
    save_fused_checkpoint(path, fused.state_dict())
    raw = torch.load(path, weights_only=True)
    assert set(raw['state_dict']) == plain_keys
    markers = {f'{n}.{FOLDED_KEY}' for n in FOLDED_NAMES}
    assert set(load_checkpoint_file(path)['state_dict']) == \
        plain_keys | markers


def sgmconv_models():
    """Models with S-GMConv where the fused small_net has folded convs."""
    converted = convert_to_gmconv(small_net(nn.Conv2d))
    return {'built': small_net(SGMConv, stem=SGMConv),
            'convert_to_gmconv': converted}


# Every loader that reads the file through the project's checkpoint policy
# (tests/conftest.py installs it, as the tools and configs do). torch's own
# load_state_dict of a bare state dict sees no meta: strictly it refuses for
# the missing sigmas; non-strictly is the caller's choice to take what fits.
LOADERS = {
    'mmengine load_checkpoint strict': lambda m, path: load_checkpoint(
        m, path, strict=True),
    'mmengine load_checkpoint': lambda m, path: load_checkpoint(
        m, path, strict=False),
    'init_cfg Pretrained': lambda m, path: pretrained(m, path, None),
    'init_cfg Pretrained prefix': lambda m, path: pretrained(
        m, path, 'backbone.'),
}


def pretrained(net, path, prefix):
    """mmengine's init_cfg Pretrained (non-strict; prefix: the checkpoint
    key prefix mmengine strips, dropping the state dict's _metadata)."""
    holder = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=path,
                                      prefix=prefix))
    holder.net = net
    holder.init_weights()


@pytest.mark.parametrize('loader', list(LOADERS))
@pytest.mark.parametrize('model', ['built', 'convert_to_gmconv'])
def test_folded_checkpoint_into_sgmconv_raises_how_to_load(
        tmp_path, loader, model):
    """Loaded into S-GMConv layers, the folded weight W * M was masked again
    (no sigma key: 'missing keys' only); now every loader stops."""
    prefix = ('backbone.net.' if 'prefix' in loader else
              'net.' if 'Pretrained' in loader else '')
    path = str(tmp_path / 'fused.pth')
    save_fused_checkpoint(path, fused_small_net().state_dict(), prefix)
    net = sgmconv_models()[model]
    with pytest.raises(ValueError, match=r'^(net\.)?0: ' + re.escape(
            'the checkpoint holds a folded S-GMConv (key ') + r'(net\.)?' +
            re.escape(f'0.{FOLDED_KEY}') + '.*would mask it a second time.*'
            r'model\.backbone\.deploy=True'):
        LOADERS[loader](net, path)


def test_bare_fused_state_dict_into_sgmconv_is_refused_strictly():
    net = sgmconv_models()['convert_to_gmconv']
    with pytest.raises(RuntimeError, match=r'Missing key.*0\.sigma'):
        net.load_state_dict(fused_small_net().state_dict())


@pytest.mark.parametrize('loader', list(LOADERS))
def test_folded_checkpoint_into_folded_model_loads(tmp_path, loader):
    fused = fused_small_net()
    prefix = ('backbone.net.' if 'prefix' in loader else
              'net.' if 'Pretrained' in loader else '')
    path = str(tmp_path / 'fused.pth')
    save_fused_checkpoint(path, fused.state_dict(), prefix)
    # as deploy=True builds it: FoldedConv2d where S-GMConv was
    target = small_net(FoldedConv2d, stem=FoldedConv2d)
    assert {type(m) for m in target.modules()} == {
        type(m) for m in fused.modules()}
    LOADERS[loader](target, path)
    for (name, a), b in zip(fused.state_dict().items(),
                            target.state_dict().values()):
        assert torch.equal(a, b), name


def test_plain_checkpoint_still_loads_into_sgmconv():
    """No marker: a never-masked checkpoint, sigma starts at sigma_init."""
    plain = small_net(nn.Conv2d)
    net = small_net(SGMConv, stem=SGMConv)
    result = net.load_state_dict(plain.state_dict(), strict=False)
    assert set(result.missing_keys) == {
        f'{n}.sigma' for n in FOLDED_NAMES if n != '3.3'}
    assert result.unexpected_keys == []
    assert net[0].sigma.item() == 5.0


def test_convert_refuses_a_folded_conv():
    fused = fused_small_net()
    with pytest.raises(TypeError, match=r"0 \(a folded S-GMConv "
                       r'\(fuse_gmconv\): its weight already holds'):
        convert_to_gmconv(fused)


@pytest.mark.parametrize('name', ['timm:regnetx_002', 'timm:efficientnet_b0',
                                  'torchvision:googlenet'])
def test_fused_model_loads_strictly_into_the_unconverted_one(name):
    """convert_to_gmconv then fuse_gmconv: the original architecture again,
    whose state dict a fresh model of it loads with strict=True."""
    library, arch = name.split(':')
    if library == 'timm':
        timm = pytest.importorskip('timm')
        build = lambda: timm.create_model(arch, pretrained=False)  # noqa
    else:
        import torchvision
        build = lambda: torchvision.models.get_model(  # noqa
            arch, weights=None, aux_logits=False, init_weights=False)
    model = build()
    types = [type(m) for m in model.modules()]
    fused = fuse_gmconv(convert_to_gmconv(model))
    assert [type(m) for m in fused.modules()] == types
    fresh = build()
    assert list(fresh.state_dict()) == list(fused.state_dict())
    fresh.load_state_dict(fused.state_dict(), strict=True)
