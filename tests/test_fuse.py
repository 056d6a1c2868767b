import pytest
import torch
from torch import nn

from mmgmconv import DGMConv, SGMConv, fuse_gmconv


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
    assert set(fused.state_dict()) == set(plain.state_dict())
    plain.load_state_dict(fused.state_dict())
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
