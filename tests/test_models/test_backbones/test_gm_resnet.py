import copy
import logging
import re
import uuid
from pathlib import Path

import pytest
import torch
from mmdet.models.backbones import ResNet
from mmdet.models.necks import FPN
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import (
    load_state_dict as mmengine_load_state_dict,
)
from torch import nn

from mmgmconv import DGMConv, GMResNet, SGMConv, fuse_gmconv
from mmgmconv.ops import FOLDED_KEY

#: The paper's GMConv (configs/_base_/models/gmresnet_gmconv.py, its
#: default arguments): the GMConv ResNets have no default of their own.
PAPER_GMCONV_CFG = dict(
    stem=dict(type='DGMConv', pred_pattern='sigma1_ratio', sigma_init=5.0),
    body=dict(type='SGMConv', sigma_init=5.0))

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
    gm = GMResNet(depth, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                  gmconv_stages=ALL)
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
                      gmconv_cfg=dict(PAPER_GMCONV_CFG,
                                      stem=dict(type='SGMConv')))
    assert isinstance(s_stem.conv1, SGMConv)


def test_gmconv_with_dcn_table_v():
    gm = GMResNet(50, base_channels=8,
                  gmconv_cfg=PAPER_GMCONV_CFG,
                  gmconv_stages=(True, True, False, False, False),
                  dcn=DCN, stage_with_dcn=(False, True, True, True))
    assert isinstance(gm.conv1, DGMConv)
    assert isinstance(gm.layer1[0].conv2, SGMConv)
    assert type(gm.layer2[0].conv2).__name__ == 'DeformConv2dPack'
    outs = gm(torch.randn(1, 3, 128, 128))
    sum(o.sum() for o in outs).backward()
    assert gm.layer2[0].conv2.conv_offset.weight.grad is not None


def test_frozen_stages_freeze_gmconv_params():
    gm = GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                  gmconv_stages=ALL, frozen_stages=1)
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
        GMResNet(18, gmconv_cfg=PAPER_GMCONV_CFG, gmconv_stages=stages)


def test_unknown_conv_type():
    with pytest.raises(ValueError, match=r'gmconv_cfg\["body"\]: unknown conv '
                       r"type 'SGMconv'"):
        GMResNet(18, gmconv_stages=ALL, gmconv_cfg=dict(
            PAPER_GMCONV_CFG, body=dict(type='SGMconv')))
    with pytest.raises(ValueError, match="conv_cfg: unknown conv type 'Foo'"):
        GMResNet(18, conv_cfg=dict(type='Foo'))
    with pytest.raises(ValueError,
                       match='gmconv_cfg must be a dict with keys'):
        GMResNet(18, gmconv_cfg=dict(head=dict(type='SGMConv')))


def test_gmconv_and_dcn_in_one_stage_is_an_error():
    with pytest.raises(ValueError, match=r'layer2 asked for both GMConv'):
        GMResNet(50, gmconv_cfg=PAPER_GMCONV_CFG,
                 gmconv_stages=(True, True, True, False, False), dcn=DCN,
                 stage_with_dcn=(False, True, True, True))


def test_gmconv_part_without_its_config_is_an_error():
    # no default GMConv: a part that gmconv_stages turns on needs its config
    # (with its type); one that no stage uses may be left out
    with pytest.raises(ValueError, match=r'puts GMConv in the stem but '
                       r'gmconv_cfg has no "stem" conv config'):
        GMResNet(18, gmconv_stages=ALL,
                 gmconv_cfg=dict(body=dict(type='SGMConv', sigma_init=5.0)))
    with pytest.raises(ValueError, match=r'puts GMConv in the body but '
                       r'gmconv_cfg has no "body" conv config'):
        GMResNet(18, gmconv_stages=(False, True, False, False, False))
    with pytest.raises(TypeError, match=r'gmconv_cfg\["stem"\] must be None '
                       r'or a dict with a "type" key'):
        GMResNet(18, gmconv_stages=ALL,
                 gmconv_cfg=dict(stem=dict(sigma_init=2.0),
                                 body=dict(type='SGMConv', sigma_init=1.0)))
    gm = GMResNet(18, base_channels=8,
                  gmconv_stages=(False, True, False, False, False),
                  gmconv_cfg=dict(body=dict(type='SGMConv', sigma_init=1.0)))
    assert type(gm.conv1) is nn.Conv2d
    assert gm.layer1[0].conv2.sigma.item() == 1.0


def test_wrong_stage_with_dcn_length_names_the_expected_length():
    with pytest.raises(ValueError, match=r'stage_with_dcn must be 4 booleans'
                       r' for \(layer1, layer2, layer3, layer4\), got '
                       r'\(True,\)'):
        GMResNet(50, dcn=DCN, stage_with_dcn=(True, ))


# --- fold on load (issue 8.1): Table V rows start from the all-GMConv net ---

STEM_L1 = (True, True, False, False, False)


def trained_all_gmconv(depth=50):
    """An all-GMConv backbone with sigmas and predictor away from init."""
    torch.manual_seed(0)
    gm = GMResNet(depth, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                  gmconv_stages=ALL)
    with torch.no_grad():
        for name, p in gm.named_parameters():
            if name.endswith('.sigma'):
                p.uniform_(0.5, 2.0)
            elif 'sigma_predictor' in name:
                p.normal_(0, 0.1)
    gm.eval()  # mmdet's ResNet.train() returns None
    return gm


def save_mmpretrain_style(model, path, folded=()):
    """The layout of an mmpretrain classifier checkpoint; ``folded``: the
    backbone's layers whose weight holds a folded mask, which
    tools/fuse_gmconv.py names in the meta."""
    meta = {FOLDED_KEY: [f'backbone.{n}' for n in folded]} if folded else {}
    torch.save(dict(meta=meta, state_dict={
        f'backbone.{k}': v for k, v in model.state_dict().items()}), path)


class LogRecorder(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def mm_log():
    # a new name becomes the current logger (an existing one would not)
    logger = MMLogger.get_instance(f'fold_{uuid.uuid4().hex}')
    recorder = LogRecorder()
    logger.addHandler(recorder)
    yield recorder.lines
    logger.removeHandler(recorder)


@pytest.mark.parametrize('with_dcn', [False, True], ids=['stem-l1', 'dcn'])
def test_gmconv_checkpoint_folds_into_plain_and_dcn_stages(
        tmp_path, mm_log, with_dcn):
    gm = trained_all_gmconv()
    save_mmpretrain_style(gm, tmp_path / 'gm.pth')
    dcn = dict(dcn=DCN, stage_with_dcn=(False, True, True, True))
    det = GMResNet(50, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                   gmconv_stages=STEM_L1,
                   init_cfg=dict(type='Pretrained',
                                 checkpoint=str(tmp_path / 'gm.pth'),
                                 prefix='backbone.'),
                   **(dcn if with_dcn else {}))
    det.init_weights()
    det.eval()
    log = '\n'.join(mm_log)
    assert 'unexpected key' not in log  # every sigma consumed
    folded = log.split('plain convs: ')[1].split('\n')[0].split(', ')
    assert len(folded) == 13 and 'layer4.2.conv2' in folded  # 3x3 in L2-L4
    assert not any(k.startswith(('conv1', 'layer1')) for k in folded)
    # the plain layers carry W * M(sigma), not W
    conv = det.layer3[0].conv2
    w = gm.layer3[0].conv2
    assert torch.equal(conv.weight, w.weight * w.mask())
    assert not torch.equal(conv.weight, w.weight)
    x = torch.randn(2, 3, 128, 128)  # mmcv's DCN wants layer4 >= 3x3
    with torch.no_grad():
        for ours, theirs in zip(det(x), gm(x)):
            # DCN with its zero-initialised offsets samples the conv's grid
            torch.testing.assert_close(
                ours, theirs, **(dict(rtol=1e-4, atol=1e-5) if with_dcn
                                 else dict(rtol=0, atol=0)))


def test_fold_on_load_through_load_checkpoint_strict(tmp_path):
    gm = trained_all_gmconv(18)
    save_mmpretrain_style(gm, tmp_path / 'gm.pth')
    detector = nn.Module()
    detector.backbone = GMResNet(18, base_channels=8,
                                 gmconv_cfg=PAPER_GMCONV_CFG,
                                 gmconv_stages=STEM_L1)
    # strict: every sigma of the checkpoint is consumed by a plain conv
    load_checkpoint(detector, str(tmp_path / 'gm.pth'), strict=True)
    detector.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for ours, theirs in zip(detector.backbone(x), gm(x)):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_d_gmconv_checkpoint_into_plain_stem_is_reported(mm_log):
    state = trained_all_gmconv(18).state_dict()
    plain_stem = GMResNet(18, base_channels=8,
                          gmconv_cfg=PAPER_GMCONV_CFG,
                          gmconv_stages=(False, True, True, True, True))
    message = (r'conv1: the checkpoint holds a D-GMConv layer \(keys '
               r'conv1\.sigma_predictor\.\*\) but the model builds Conv2d '
               r'there\. A D-GMConv mask depends on the input')
    with pytest.raises(RuntimeError, match=message):  # strict: an error
        plain_stem.load_state_dict(state)
    with pytest.raises(RuntimeError, match=message):
        mmengine_load_state_dict(plain_stem, state, strict=True)
    # non-strict (init_cfg Pretrained): a warning, as for a shape mismatch
    mmengine_load_state_dict(plain_stem, state, strict=False,
                             logger='current')
    assert re.search(message, '\n'.join(mm_log))


def test_old_1x1_d_gmconv_predictor_into_plain_conv_is_dropped(mm_log):
    """A checkpoint from before 1x1 D-GMConv layers were built without a
    predictor: at a plain 1x1 conv the predictor's keys are dropped (the
    mask was all ones), at a 3x3 one they still cannot be folded."""
    plain = GMResNet(50, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                     gmconv_stages=(False, ) * 5)
    state = plain.state_dict()
    predictor = {'sigma_predictor.fc.weight': torch.ones(2, 4)}
    old = dict(state, **{f'layer1.0.conv1.{k}': v
                         for k, v in predictor.items()})
    plain.load_state_dict(old, strict=True)
    assert any('dropped the D-GMConv sigma predictors of the checkpoint at '
               '1 plain convs of at most 2x2, whose mask is all ones: '
               'layer1.0.conv1' in line for line in mm_log)
    bad = dict(state, **{f'layer1.0.conv2.{k}': v
                         for k, v in predictor.items()})
    with pytest.raises(RuntimeError, match='layer1.0.conv2: the checkpoint '
                       'holds a D-GMConv layer'):
        plain.load_state_dict(bad, strict=True)


# --- deploy=True (issue 9): S-GMConv built as plain convs, D-GMConv kept ---

def test_deploy_loads_fused_and_unfused_checkpoints_strictly():
    gm = trained_all_gmconv(18)
    deploy = GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                      gmconv_stages=ALL, deploy=True)
    assert isinstance(deploy.conv1, DGMConv)
    assert not any(isinstance(m, SGMConv) for m in deploy.modules())
    assert type(deploy.layer1[0].conv1) is nn.Conv2d
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = gm(x)
    unfused = gm.state_dict()
    fused = fuse_gmconv(copy.deepcopy(gm)).state_dict()
    assert list(fused) == list(deploy.state_dict())
    for state in (fused, unfused):  # the unfused one is folded on load
        deploy.load_state_dict(state, strict=True)
        deploy.eval()
        with torch.no_grad():
            for ours, theirs in zip(deploy(x), expected):
                torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    gm.switch_to_deploy()
    assert gm.deploy and list(gm.state_dict()) == list(deploy.state_dict())
    assert [type(m) for m in gm.modules()] == [
        type(m) for m in deploy.modules()]


# --- issue 19: the build says where GMConv is and what is frozen ---

def gm_lines(log):
    """The backbones' GMConv lines of the log (not the registry's)."""
    return [line for line in log if line.startswith('GM')]

def test_build_logs_gmconv_parts_and_warns_about_frozen_ones(mm_log):
    GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
             gmconv_stages=STEM_L1, frozen_stages=1)
    assert ('GMResNet: GMConv in stem (D), layer1 (S); frozen: stem, layer1 '
            '(frozen_stages=1)') in mm_log
    assert ('GMResNet: frozen_stages=1 freezes the GMConv layers of stem, '
            'layer1: their sigma and sigma predictor will not train') in \
        '\n'.join(gm_lines(mm_log))
    mm_log.clear()
    GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
             gmconv_stages=(False, True, True, False,
                                                  False), frozen_stages=1)
    lines = gm_lines(mm_log)
    assert lines[0] == ('GMResNet: GMConv in layer1 (S), layer2 (S); '
                        'frozen: layer1 (frozen_stages=1)')
    assert 'freezes the GMConv layers of layer1:' in lines[1]
    mm_log.clear()
    GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
             gmconv_stages=ALL, frozen_stages=-1)
    assert gm_lines(mm_log) == [
        'GMResNet: GMConv in stem (D), layer1 (S), layer2 (S), layer3 (S), '
        'layer4 (S); frozen: none',
        'GMResNet: 3 S-GMConv (1x1) without sigma: a kernel of at most 2x2 '
        'has nothing to mask (its mask is all ones), so these layers are '
        'plain convolutions']


def test_build_warns_without_any_gmconv(mm_log):
    GMResNet(18, base_channels=8)
    assert len(gm_lines(mm_log)) == 1 and gm_lines(mm_log)[0].startswith(
        'GMResNet: no GMConv layer (all convs plain): no GMConv was asked '
        'for')
    mm_log.clear()
    GMResNet(18, base_channels=8, gmconv_stages=(False, ) * 5)
    assert gm_lines(mm_log) == ['GMResNet: no GMConv layer (all convs plain)']
    mm_log.clear()  # the stock way: every conv S-GMConv through conv_cfg
    GMResNet(18, base_channels=8, conv_cfg=dict(type='SGMConv'))
    assert gm_lines(mm_log)[0].startswith(
        'GMResNet: GMConv in stem (S), layer1 (S)')


def test_deploy_build_logs_folded_layers_without_warning(mm_log):
    GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
             gmconv_stages=(False, True, False, False,
                                                  False), deploy=True,
             frozen_stages=1)
    assert gm_lines(mm_log) == [
        'GMResNet: GMConv in layer1 (folded S); frozen: none']


def test_classification_backbones_log_their_gmconv(mm_log):
    from mmgmconv.models import GMAlexNet, GMMobileNetV2, GMResNet_CIFAR
    GMResNet_CIFAR(20, num_stages=3, stem_channels=16, base_channels=16,
                   strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ),
                   gmconv_cfg=PAPER_GMCONV_CFG,
                   gmconv_stages=(True, ) * 4, frozen_stages=0)
    lines = gm_lines(mm_log)
    assert lines[0] == ('GMResNet_CIFAR: GMConv in stem (D), layer1 (S), '
                        'layer2 (S), layer3 (S); frozen: stem '
                        '(frozen_stages=0)')
    assert 'freezes the GMConv layers of stem:' in lines[1]
    mm_log.clear()
    GMAlexNet(stem_conv_cfg=dict(type='DGMConv'),
              conv_cfg=dict(type='SGMConv'))
    assert gm_lines(mm_log) == [
        'GMAlexNet: GMConv in stem (D), conv2-5 (S); frozen: none']
    mm_log.clear()
    GMMobileNetV2(widen_factor=0.25, stem_conv_cfg=dict(type='DGMConv'),
                  frozen_stages=1)
    lines = gm_lines(mm_log)
    assert lines[0] == ('GMMobileNetV2: GMConv in stem (D); frozen: stem '
                        '(frozen_stages=1)')
    assert 'freezes the GMConv layers of stem:' in lines[1]


@pytest.mark.parametrize('detector', ['faster-rcnn', 'cascade-rcnn'])
def test_table_v_configs_state_what_they_freeze(detector):
    """The choice lives once, in configs/_base_/detection/gmconv_r50.py,
    which every GMConv detection config inherits (configs/README.md says
    why)."""
    from pathlib import Path

    from mmengine.config import Config
    configs = Path(__file__).parents[3] / 'configs'
    base = configs / '_base_/detection/gmconv_r50.py'
    assert re.search(r'frozen_stages=1\)$', base.read_text(), re.M)
    paths = sorted((configs / 'gmconv').glob(f'{detector}_r50-gmconv-*.py'))
    assert len(paths) == 5
    for path in paths:
        code = [line for line in path.read_text().splitlines()
                if not line.lstrip().startswith('#')]
        assert not any('frozen_stages' in line for line in code), path
        assert Config.fromfile(path).model.backbone.frozen_stages == 1


# --- issue 19: a folded checkpoint is never masked a second time ---

def test_fused_checkpoint_into_gmresnet_and_stock_resnet(tmp_path):
    gm = trained_all_gmconv(18)
    folded = [n for n, m in gm.named_modules()
              if isinstance(m, SGMConv) and m.sigma is not None]
    fused = fuse_gmconv(copy.deepcopy(gm))
    save_mmpretrain_style(fused, tmp_path / 'fused.pth', folded)
    init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'fused.pth'),
                    prefix='backbone.')
    # S-GMConv layers (ours or a stock ResNet's conv_cfg): a clear stop
    for model in (GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                           gmconv_stages=STEM_L1,
                           init_cfg=init_cfg),
                  ResNet(18, base_channels=8, init_cfg=init_cfg,
                         conv_cfg=dict(type='SGMConv'))):
        with pytest.raises(ValueError, match=r'^layer1\.0\.conv1: the '
                           r'checkpoint holds a folded S-GMConv.*deploy=True'):
            model.init_weights()
    # Stem L1 with deploy=True: the D-GMConv stem loads, layer1 is folded
    # already, the plain layer2-4 take the folded weights as they are
    det = GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                   gmconv_stages=STEM_L1, deploy=True,
                   init_cfg=init_cfg)
    det.init_weights()
    det.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for ours, theirs in zip(det(x), gm(x)):
            torch.testing.assert_close(ours, theirs)


# --- issue 22: GMResNet_CIFAR's defaults follow the depth ---

@pytest.mark.parametrize('depth,stages,out', [(20, 3, (2, 64, 8, 8)),
                                              (56, 3, (2, 64, 8, 8)),
                                              (18, 4, (2, 512, 4, 4))])
def test_cifar_resnet_defaults_follow_the_depth(depth, stages, out):
    """GMResNet_CIFAR(depth=20) failed with the default num_stages=4."""
    from mmgmconv.models import GMResNet_CIFAR
    model = GMResNet_CIFAR(depth=depth, gmconv_cfg=PAPER_GMCONV_CFG,
                           gmconv_stages=(True, ) * (stages + 1))
    assert len(model.res_layers) == stages
    assert model(torch.randn(2, 3, 32, 32))[0].shape == out
    if stages == 3:
        explicit = GMResNet_CIFAR(
            depth=depth, num_stages=3, stem_channels=16, base_channels=16,
            strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ))
        assert [(n, p.shape) for n, p in explicit.named_parameters()] == [
            (n, p.shape) for n, p in model.named_parameters()
            if 'sigma' not in n]


# --- issue 30: a D-GMConv with nothing to mask is a plain conv, said at
# build; a non-finite input is named as the input of the layer ---

PURE_DGMCONV_CFG = dict(stem=dict(type='DGMConv'), body=dict(type='DGMConv'))


def test_pure_dgmconv_build_logs_its_plain_1x1_layers(mm_log):
    net = GMResNet(50, base_channels=8, gmconv_cfg=PURE_DGMCONV_CFG,
                   gmconv_stages=ALL)
    assert gm_lines(mm_log) == [
        'GMResNet: GMConv in stem (D), layer1 (D), layer2 (D), layer3 (D), '
        'layer4 (D); frozen: none',
        'GMResNet: 36 D-GMConv (1x1) without sigma predictor: a kernel of '
        'at most 2x2 has nothing to mask (its mask is all ones), so these '
        'layers are plain convolutions']
    dgm = [m for m in net.modules() if isinstance(m, DGMConv)]
    assert len(dgm) == 53
    assert all((m.sigma_predictor is None) == (m.kernel_size == (1, 1))
               for m in dgm)


def test_old_pure_dgmconv_checkpoint_loads_with_a_warning_per_layer(
        tmp_path, mm_log):
    """mmgmconv 0.1.0 saved a predictor for every 1x1 D-GMConv."""
    from mmgmconv.ops import SigmaPredictor
    torch.manual_seed(0)
    net = GMResNet(50, base_channels=8, gmconv_cfg=PURE_DGMCONV_CFG,
                   gmconv_stages=ALL)
    state = dict(net.state_dict())
    for name, m in net.named_modules():
        if isinstance(m, DGMConv) and m.sigma_predictor is None:
            old = SigmaPredictor(m.in_channels, 2).state_dict()
            state.update({f'{name}.sigma_predictor.{k}': v
                          for k, v in old.items()})
    torch.save(dict(state_dict=state, meta={}), tmp_path / 'old.pth')
    fresh = GMResNet(50, base_channels=8, gmconv_cfg=PURE_DGMCONV_CFG,
                     gmconv_stages=ALL)
    mm_log.clear()
    load_checkpoint(fresh, str(tmp_path / 'old.pth'), strict=True)
    dropped = [line for line in mm_log
               if "dropped the checkpoint's sigma predictor" in line]
    assert len(dropped) == 36 and dropped[0].startswith(
        "layer1.0.conv1: dropped the checkpoint's sigma predictor "
        '(layer1.0.conv1.sigma_predictor.fc1.weight, ')
    for key, value in net.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_non_finite_input_error_names_the_layer_and_the_image():
    net = GMResNet(18, base_channels=8, gmconv_cfg=PAPER_GMCONV_CFG,
                   gmconv_stages=ALL)
    x = torch.randn(3, 3, 32, 32)
    x[2, 0, 5, 5] = float('nan')
    with pytest.raises(ValueError, match=re.escape(
            'DGMConv GMResNet.conv1: the input to this layer has NaN or inf '
            'values in some image of the batch (from the data or an earlier '
            "layer, not from this layer's weights): image(s) [2] of the "
            'batch of 3 hold [1] non-finite values')):
        net(x)


def test_pure_dgmconv_config_parameter_count_is_the_metafiles():
    """The metafile's Parameters of the pure D-GMConv ResNet-50 is measured:
    the sum of the parameters' numel of the model built from the config."""
    import yaml
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import mmgmconv.toolboxes.mmpretrain  # noqa: F401
    root = Path(__file__).parents[3]
    name = 'resnet50-dgmconv_8xb32_in1k'
    meta = yaml.safe_load(
        (root / 'configs/classification/imagenet/metafile.yml').read_text())
    (model, ) = [m for m in meta['Models'] if m['Name'] == name]
    cfg = Config.fromfile(root / model['Config'])
    init_default_scope('mmpretrain')
    built = MODELS.build(cfg.model)
    assert sum(p.numel() for p in built.parameters()) == \
        model['Metadata']['Parameters']
