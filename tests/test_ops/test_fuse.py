import io
import re

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.runner import load_checkpoint, save_checkpoint
from mmengine.runner.checkpoint import get_state_dict
from mmengine.runner.checkpoint import (
    load_state_dict as mmengine_load_state_dict,
)
from torch import nn

from mmgmconv import DGMConv, SGMConv, convert_to_gmconv, fuse_gmconv
from mmgmconv.ops import FOLDED_KEY, is_folded

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
    markers = {f'{name}.{FOLDED_KEY}' for name in FOLDED_NAMES}
    assert set(fused.state_dict()) == set(plain.state_dict()) | markers
    # a stock plain model: the markers are the only unexpected keys
    result = plain.load_state_dict(fused.state_dict(), strict=False)
    assert set(result.unexpected_keys) == markers
    assert result.missing_keys == []
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


def test_marker_survives_save_and_load(tmp_path):
    fused = fused_small_net()
    markers = {f'{n}.{FOLDED_KEY}' for n in FOLDED_NAMES}
    buffer = io.BytesIO()
    torch.save(dict(meta=dict(), state_dict=fused.state_dict()), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)['state_dict']
    assert markers <= set(loaded)
    assert markers <= set(get_state_dict(fused))
    save_checkpoint(dict(state_dict=get_state_dict(fused)),
                    str(tmp_path / 'fused.pth'))
    ckpt = torch.load(tmp_path / 'fused.pth', weights_only=True)
    assert markers <= set(ckpt['state_dict'])
    # a fused model saved again keeps its markers; a deep copy too
    again = small_net(nn.Conv2d)
    for name in FOLDED_NAMES:
        assert not is_folded(again.get_submodule(name))
    assert markers <= set(fuse_gmconv(fused).state_dict())
    import copy
    assert markers <= set(copy.deepcopy(fused).state_dict())


def sgmconv_models():
    """Models with S-GMConv where the fused small_net has folded convs."""
    converted = convert_to_gmconv(small_net(nn.Conv2d))
    return {'built': small_net(SGMConv, stem=SGMConv),
            'convert_to_gmconv': converted}


LOADERS = {
    'torch strict': lambda m, sd, path: m.load_state_dict(sd),
    'torch non-strict': lambda m, sd, path: m.load_state_dict(sd, False),
    'mmengine load_state_dict': lambda m, sd, path: mmengine_load_state_dict(
        m, sd, strict=False),
    'mmengine load_checkpoint strict': lambda m, sd, path: load_checkpoint(
        m, path, strict=True),
    'mmengine load_checkpoint': lambda m, sd, path: load_checkpoint(
        m, path, strict=False),
    'init_cfg Pretrained': lambda m, sd, path: pretrained(m, path, None),
    'init_cfg Pretrained prefix': lambda m, sd, path: pretrained(
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
    state = fused_small_net().state_dict()
    keyed = {f'backbone.net.{k}': v for k, v in state.items()} \
        if 'prefix' in loader else {f'net.{k}': v for k, v in state.items()} \
        if 'Pretrained' in loader else state
    path = str(tmp_path / 'fused.pth')
    torch.save(dict(meta=dict(), state_dict=keyed), path)
    net = sgmconv_models()[model]
    with pytest.raises(ValueError, match=r'^(net\.)?0: ' + re.escape(
            'the checkpoint holds a folded S-GMConv (key ') + r'(net\.)?' +
            re.escape(f'0.{FOLDED_KEY}') + '.*would mask it a second time.*'
            r'model\.backbone\.deploy=True'):
        LOADERS[loader](net, state, path)


@pytest.mark.parametrize('loader', list(LOADERS))
def test_folded_checkpoint_into_folded_model_loads(tmp_path, loader):
    fused = fused_small_net()
    state = fused.state_dict()
    keyed = {f'backbone.net.{k}': v for k, v in state.items()} \
        if 'prefix' in loader else {f'net.{k}': v for k, v in state.items()} \
        if 'Pretrained' in loader else state
    path = str(tmp_path / 'fused.pth')
    torch.save(dict(meta=dict(), state_dict=keyed), path)
    target = fuse_gmconv(small_net(SGMConv, stem=SGMConv))
    LOADERS[loader](target, state, path)
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
