import pytest
import torch
from mmdet.models.backbones import ResNet
from mmdet.models.necks import FPN
from torch import nn

from mmgmconv import DGMConv, GMResNet, SGMConv

ALL = (True, ) * 5
DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)


def gm_keys(model):
    return {k for k in model.state_dict() if 'sigma' in k}


@pytest.mark.parametrize('depth', [18, 50])
def test_all_off_is_mmdet_resnet(depth):
    torch.manual_seed(0)
    plain = ResNet(depth, base_channels=8)
    gm = GMResNet(depth, base_channels=8)
    plain.eval()  # mmdet's ResNet.train() returns None: no chaining
    gm.eval()
    assert list(gm.state_dict()) == list(plain.state_dict())
    gm.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(gm(x), plain(x)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize('depth', [18, 50])
def test_gmconv_everywhere_keeps_plain_keys(depth):
    plain = ResNet(depth, base_channels=8)
    gm = GMResNet(depth, base_channels=8, gmconv_stages=ALL)
    result = gm.load_state_dict(plain.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert set(result.missing_keys) == gm_keys(gm)
    assert all('.sigma' in k for k in result.missing_keys)
    assert isinstance(gm.conv1, DGMConv)
    assert gm.conv1.pred_pattern == 'sigma1_ratio'
    convs = [m for n, m in gm.named_modules() if n.startswith('layer')
             and isinstance(m, nn.Conv2d)]
    assert all(isinstance(m, SGMConv) for m in convs)
    assert all(m.sigma.item() == 5.0 for m in convs if m.sigma is not None)
    # 1x1 convs (bottleneck conv1/conv3, downsample) carry no sigma
    assert all((m.sigma is None) == (m.kernel_size == (1, 1)) for m in convs)
    outs = gm(torch.randn(2, 3, 64, 64))
    assert len(outs) == 4 and all(torch.isfinite(o).all() for o in outs)


def test_stage_selection_and_overrides():
    gm = GMResNet(
        18,
        base_channels=8,
        gmconv_stages=(False, True, False, True, False),
        gmconv_cfg=dict(body=dict(type='SGMConv', sigma_init=2.0)))
    assert type(gm.conv1) is nn.Conv2d
    assert isinstance(gm.layer1[0].conv1, SGMConv)
    assert gm.layer1[0].conv1.sigma.item() == 2.0
    assert type(gm.layer2[0].conv1) is nn.Conv2d
    assert isinstance(gm.layer3[0].downsample[0], SGMConv)
    assert type(gm.layer4[1].conv2) is nn.Conv2d
    s_stem = GMResNet(18, base_channels=8, gmconv_stages=ALL,
                      gmconv_cfg=dict(stem=dict(type='SGMConv')))
    assert isinstance(s_stem.conv1, SGMConv)


def test_gmconv_with_dcn_table_v():
    gm = GMResNet(50, base_channels=8,
                  gmconv_stages=(True, True, False, False, False),
                  dcn=DCN, stage_with_dcn=(False, True, True, True))
    assert isinstance(gm.conv1, DGMConv)
    assert isinstance(gm.layer1[0].conv2, SGMConv)
    assert type(gm.layer2[0].conv2).__name__ == 'DeformConv2dPack'
    outs = gm(torch.randn(1, 3, 128, 128))
    sum(o.sum() for o in outs).backward()
    assert gm.layer2[0].conv2.conv_offset.weight.grad is not None


def test_frozen_stages_freeze_gmconv_params():
    gm = GMResNet(18, base_channels=8, gmconv_stages=ALL, frozen_stages=1)
    gm.train()
    frozen = [p for n, p in gm.named_parameters()
              if n.startswith(('conv1.', 'layer1.'))]
    assert any(n.endswith('sigma') for n, _ in gm.named_parameters()
               if n.startswith('layer1.'))
    assert frozen and not any(p.requires_grad for p in frozen)
    assert gm.layer2[0].conv2.sigma.requires_grad
    assert not gm.layer1.training and not gm.norm1.training


def test_stock_resnet_and_fpn_take_conv_cfg():
    cfg = dict(type='SGMConv')
    backbone = ResNet(18, base_channels=8, conv_cfg=cfg)
    assert isinstance(backbone.conv1, SGMConv)
    neck = FPN([8, 16, 32, 64], 16, 4, conv_cfg=cfg)
    feats = neck(backbone(torch.randn(1, 3, 64, 64)))
    assert isinstance(neck.fpn_convs[0].conv, SGMConv)
    assert all(torch.isfinite(f).all() for f in feats)


@pytest.mark.parametrize('stages', [
    (True, ) * 4, (True, ) * 6, 'TTTTT', (1, 1, 1, 1, 1), True
])
def test_bad_gmconv_stages(stages):
    with pytest.raises(ValueError, match=r'gmconv_stages must be 5 booleans '
                       r'for \(stem, layer1, layer2, layer3, layer4\), got'):
        GMResNet(18, gmconv_stages=stages)


def test_unknown_conv_type():
    with pytest.raises(ValueError, match=r'gmconv_cfg\["body"\]: unknown conv '
                       r"type 'SGMconv'"):
        GMResNet(18, gmconv_stages=ALL, gmconv_cfg=dict(body=dict(
            type='SGMconv')))
    with pytest.raises(ValueError, match="conv_cfg: unknown conv type 'Foo'"):
        GMResNet(18, conv_cfg=dict(type='Foo'))
    with pytest.raises(ValueError, match='gmconv_cfg must be a dict with keys'):
        GMResNet(18, gmconv_cfg=dict(head=dict(type='SGMConv')))


def test_gmconv_and_dcn_in_one_stage_is_an_error():
    with pytest.raises(ValueError, match=r'layer2 asked for both GMConv'):
        GMResNet(50, gmconv_stages=(True, True, True, False, False), dcn=DCN,
                 stage_with_dcn=(False, True, True, True))


def test_partial_gmconv_cfg_updates_default_arguments():
    gm = GMResNet(18, base_channels=8, gmconv_stages=ALL,
                  gmconv_cfg=dict(stem=dict(sigma_init=2.0),
                                  body=dict(sigma_init=1.0)))
    assert isinstance(gm.conv1, DGMConv) and gm.conv1.sigma_init == 2.0
    assert gm.conv1.pred_pattern == 'sigma1_ratio'
    assert gm.layer2[0].conv2.sigma.item() == 1.0
