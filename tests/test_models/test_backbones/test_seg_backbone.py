"""GMResNetV1c: a drop-in for mmseg's ResNetV1c, with GMConv by part."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS

from mmgmconv import DGMConv, SGMConv
from mmgmconv.models import ClsGMResNet, GMResNetV1c

#: The paper's GMConv (configs/_base_/models/gmresnet_gmconv.py, its
#: default arguments): the GMConv ResNets have no default of their own.
PAPER_GMCONV_CFG = dict(
    stem=dict(type='DGMConv', pred_pattern='sigma1_ratio', sigma_init=5.0),
    body=dict(type='SGMConv', sigma_init=5.0))

ALL = (True, ) * 5
#: mmseg's R50-D8 backbone arguments (configs/_base_/models/*_r50-d8.py)
D8 = dict(dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
          contract_dilation=True)


def parts_with_gmconv(backbone):
    parts = [backbone.stem] + [getattr(backbone, f'layer{i}')
                               for i in range(1, 5)]
    return tuple(
        any(isinstance(m, (SGMConv, DGMConv)) for m in part.modules())
        for part in parts)


def randomise_sigmas(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('.sigma'):
                p.uniform_(0.5, 2.0)
            elif 'sigma_predictor' in name:
                p.normal_(0, 0.1)


def test_registered_in_mmseg_models():
    # in mmseg's scope: an earlier test may have left another default scope
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(dict(type='GMResNetV1c', depth=18,
                                  gmconv_cfg=PAPER_GMCONV_CFG,
                                  gmconv_stages=ALL))
    assert type(model) is GMResNetV1c


@pytest.mark.parametrize('kwargs', [{}, D8], ids=['plain', 'd8'])
def test_all_off_is_mmseg_resnetv1c(kwargs):
    torch.manual_seed(0)
    ref = ResNetV1c(depth=50, **kwargs)
    ours = GMResNetV1c(depth=50, **kwargs)
    assert not any(isinstance(m, (SGMConv, DGMConv)) for m in ours.modules())
    ours.load_state_dict(ref.state_dict(), strict=True)  # same names, shapes
    ref.eval(), ours.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(ours(x), ref(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_gmconv_keeps_deep_stem_strides_dilations_and_output_shapes():
    model = GMResNetV1c(depth=50, gmconv_cfg=PAPER_GMCONV_CFG,
                        gmconv_stages=ALL, **D8)
    convs = [model.stem[i] for i in (0, 3, 6)]  # the three-conv deep stem
    assert all(type(c) is DGMConv for c in convs)
    assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1)]
    assert [c.out_channels for c in convs] == [32, 32, 64]
    assert convs[0].pred_pattern == 'sigma1_ratio'
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        assert type(layer[0].conv2) is SGMConv
        assert float(layer[0].conv2.sigma) == 5.0
    # contract_dilation: the first block of a dilated stage halves it
    assert model.layer3[0].conv2.dilation == (1, 1)
    assert all(b.conv2.dilation == (2, 2) for b in list(model.layer3)[1:])
    assert model.layer4[0].conv2.dilation == (2, 2)
    assert all(b.conv2.dilation == (4, 4) for b in list(model.layer4)[1:])
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    # output stride 8: layer2-4 at 1/8
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 16),
                                             (1, 512, 8, 8),
                                             (1, 1024, 8, 8),
                                             (1, 2048, 8, 8)]
    plain = GMResNetV1c(depth=50, gmconv_cfg=PAPER_GMCONV_CFG,
                        gmconv_stages=ALL)
    plain.eval()
    with torch.no_grad():
        outs = plain(torch.randn(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]  # mmseg's ResNet


@pytest.mark.parametrize('stages', [
    (True, True, False, False, False), (True, True, True, False, False),
    (False, False, True, True, True), ALL])
def test_stage_selection(stages):
    model = GMResNetV1c(depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
                        gmconv_stages=stages, **D8)
    assert parts_with_gmconv(model) == stages


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r'gmconv_stages must be 5 booleans'
                       r' for \(stem, layer1, layer2, layer3, layer4\)'):
        GMResNetV1c(depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
                    gmconv_stages=(True, ) * 4)
    with pytest.raises(ValueError, match='unknown conv type'):
        GMResNetV1c(depth=18, gmconv_stages=ALL,
                    gmconv_cfg=dict(PAPER_GMCONV_CFG,
                                    body=dict(type='NoSuchConv')))


def test_frozen_stem_freezes_gmconv_params():
    model = GMResNetV1c(depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
                        gmconv_stages=ALL, frozen_stages=1)
    model.train()
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not model.layer1[0].conv1.sigma.requires_grad
    assert model.layer2[0].conv1.sigma.requires_grad


def test_deploy_loads_fused_checkpoint():
    torch.manual_seed(0)
    model = GMResNetV1c(depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
                        gmconv_stages=ALL, **D8)
    randomise_sigmas(model)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        model.switch_to_deploy()
    deployed = GMResNetV1c(depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
                           gmconv_stages=ALL, deploy=True, **D8)
    assert type(deployed.layer4[1].conv2) is torch.nn.Conv2d
    assert type(deployed.stem[0]) is DGMConv  # D-GMConv stays
    deployed.load_state_dict(model.state_dict(), strict=True)
    deployed.eval()
    with torch.no_grad():
        for a, b in zip(deployed(x), expected):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_imagenet_gmconv_checkpoint_folds_on_load(tmp_path):
    """The ImageNet GMConv ResNet (7x7 stem) into Stem L1-L2 D8: layer1-2
    load as S-GMConv, layer3-4 get W * M(sigma), the deep stem keeps its
    initialisation (the checkpoint's conv1 does not fit it)."""
    torch.manual_seed(0)
    imagenet = ClsGMResNet(depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
                           gmconv_stages=ALL)
    randomise_sigmas(imagenet)
    torch.save(dict(meta=dict(), state_dict={
        f'backbone.{k}': v for k, v in imagenet.state_dict().items()}),
        tmp_path / 'gm.pth')
    seg = GMResNetV1c(
        depth=18, gmconv_cfg=PAPER_GMCONV_CFG,
        gmconv_stages=(True, True, True, False, False),
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'gm.pth'),
                      prefix='backbone.'), **D8)
    stem_before = seg.stem[0].weight.clone()
    seg.init_weights()
    torch.testing.assert_close(seg.stem[0].weight, stem_before)
    for name in ('layer1.0.conv1', 'layer2.1.conv2'):
        ours, theirs = seg.get_submodule(name), imagenet.get_submodule(name)
        assert type(ours) is SGMConv
        assert torch.equal(ours.weight, theirs.weight)
        assert torch.equal(ours.sigma, theirs.sigma)
    for name in ('layer3.0.conv1', 'layer3.0.conv2', 'layer4.1.conv2'):
        ours, theirs = seg.get_submodule(name), imagenet.get_submodule(name)
        assert type(ours) is torch.nn.Conv2d
        assert torch.equal(ours.weight, theirs.weight * theirs.mask())
    assert not torch.equal(seg.layer4[1].conv2.weight,
                           imagenet.layer4[1].conv2.weight)
