"""Classification backbones and configs (Tables I, II, IV), the learning
test on scikit-learn digits, and the ImageNet-to-COCO backbone hand-off."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from mmgmconv import DGMConv, SGMConv, fuse_gmconv
from mmgmconv.models.layers import ZeroPadShortcut
from mmgmconv.utils import check_dataset_paths
from model_structure import check_config_states_conv_types

#: The paper's GMConv (configs/_base_/models/gmresnet_gmconv.py, its
#: default arguments): the GMConv ResNets have no default of their own.
PAPER_GMCONV_CFG = dict(
    stem=dict(type='DGMConv', pred_pattern='sigma1_ratio', sigma_init=5.0),
    body=dict(type='SGMConv', sigma_init=5.0))

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
CLS = ROOT / 'configs/classification'
CONFIGS = sorted(CLS.glob('*/*.py'))


def build(cfg_path_or_cfg):
    cfg = cfg_path_or_cfg
    if not isinstance(cfg, Config):
        cfg = Config.fromfile(cfg)
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model)


def n_params(model, skip=()):
    return sum(p.numel() for n, p in model.named_parameters()
               if not any(s in n for s in skip))


def method_of(path):
    name = path.stem.split('_')[0]
    for method in ('sgmconv', 'dgmconv', 'gmconv'):
        if f'-{method}' in name:  # sgmconv-sigma1 (Fig. 6) is S-GMConv
            return method if method in ('sgmconv', 'dgmconv') else \
                name[name.index(f'-{method}') + 1:]
    return 'std'


def paper_rows():
    """``(config, method, initial sigma)`` for each classification row of
    the paper: Table I (CIFAR), Tables II and IV (ImageNet; Table IV's
    prediction patterns), Fig. 6 (S-GMConv with initial sigma 1 and 10; 5
    is Table I's S-GMConv row) and Sec. IV-D's pure D-GMConv (no number
    given, the ResNet-50 we train)."""
    rows = []
    for ds in ('cifar10', 'cifar100'):
        for model in ('resnet20', 'resnet56', 'resnet18'):
            rows += [(f'cifar/{model}_1xb128_{ds}.py', 'std', None),
                     (f'cifar/{model}-gmconv_1xb128_{ds}.py', 'gmconv', 5.0)]
            rows += [(f'cifar/{model}-sgmconv{tag}_1xb128_{ds}.py', 'sgmconv',
                      sigma) for tag, sigma in (('-sigma1', 1.0), ('', 5.0),
                                                ('-sigma10', 10.0))]
    for model in ('resnet18', 'resnet50', 'alexnet', 'mobilenet-v2'):
        rows += [(f'imagenet/{model}{m}_8xb32_in1k.py', method, sigma)
                 for m, method, sigma in (('', 'std', None),
                                          ('-sgmconv', 'sgmconv', 5.0),
                                          ('-gmconv', 'gmconv', 5.0))]
    for model in ('resnet18', 'resnet50', 'alexnet'):
        rows += [(f'imagenet/{model}-{m}_8xb32_in1k.py', m, 5.0)
                 for m in ('gmconv-sigma', 'gmconv-sigma1-sigma2')]
    rows.append(('imagenet/resnet50-dgmconv_8xb32_in1k.py', 'dgmconv', 5.0))
    return rows


def stem_and_body_cfgs(backbone):
    """The conv configs a backbone config gives its stem and its other
    convs (``None``: plain), for the GMConv ResNets (``gmconv_stages`` /
    ``gmconv_cfg``) and the others (``stem_conv_cfg`` / ``conv_cfg``)."""
    if 'gmconv_stages' in backbone:
        stages, parts = backbone.gmconv_stages, backbone.get('gmconv_cfg')
        assert len(set(stages[1:])) == 1, 'the paper has no partial rows'
        return (parts.stem if stages[0] else None,
                parts.body if stages[1] else None)
    return backbone.get('stem_conv_cfg'), backbone.get('conv_cfg')


@pytest.mark.parametrize('row', paper_rows(), ids=lambda r: r[0])
def test_paper_row_has_its_config(row):
    """The row's config exists, with the row's conv types and prediction
    pattern in its (dumped) config, and the schedule of Sec. IV-A."""
    name, method, sigma = row
    path = CLS / name
    assert path.is_file(), f'paper row {name} has no config'
    cfg = Config.fromfile(path)
    stem, body = stem_and_body_cfgs(cfg.model.backbone)
    pattern = {'gmconv': 'sigma1_ratio', 'dgmconv': 'sigma1_ratio',
               'gmconv-sigma': 'sigma',
               'gmconv-sigma1-sigma2': 'sigma1_sigma2'}.get(method)
    if method == 'std':
        assert (stem, body) == (None, None)
    elif method == 'sgmconv':
        assert stem == body == dict(type='SGMConv', sigma_init=sigma)
    else:
        assert (stem.type, stem.pred_pattern) == ('DGMConv', pattern)
        assert stem.sigma_init == sigma
        if method == 'dgmconv':
            assert body == stem
        else:
            assert body == dict(type='SGMConv', sigma_init=sigma)
    opt, sched = cfg.optim_wrapper.optimizer, cfg.param_scheduler
    if name.startswith('cifar/'):
        assert cfg.train_dataloader.batch_size == 128 and opt.lr == 0.1
        assert opt.momentum == 0.9
        if 'resnet18' in name:  # as Cutout
            assert (opt.weight_decay, sched.milestones, sched.gamma,
                    cfg.train_cfg.max_epochs) == (5e-4, [60, 120, 160], 0.2,
                                                  200)
        else:  # as He et al.
            assert (opt.weight_decay, sched.milestones, sched.gamma,
                    cfg.train_cfg.max_epochs) == (1e-4, [80, 120], 0.1, 160)
    else:  # batch 256 (8 GPUs x 32)
        assert cfg.train_dataloader.batch_size * 8 == 256
        assert (opt.momentum, opt.weight_decay) == (0.9, 4e-5)
        assert opt.lr == (0.1 if 'resnet' in name else 0.01)
        assert cfg.train_cfg.max_epochs == (300 if 'mobilenet' in name
                                            else 90)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_steps(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == [
        'mmgmconv', 'mmgmconv.safe_checkpoints',
        'mmgmconv.toolboxes.mmpretrain']
    size = 32 if 'cifar' in path.stem else 64
    check_config_states_conv_types(path, cfg)
    torch.manual_seed(0)
    model = build(cfg)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)
             and m.kernel_size != (1, 1)]
    stem, body = convs[0], convs[1:]
    method = method_of(path)
    if method == 'std':
        assert not any(isinstance(m, (SGMConv, DGMConv)) for m in convs)
    elif method == 'sgmconv':
        assert all(type(m) is SGMConv for m in convs)
    elif method == 'dgmconv':  # Sec. IV-D's pure D-GMConv: every conv
        assert all(isinstance(m, DGMConv) and m.pred_pattern ==
                   'sigma1_ratio' for m in model.backbone.modules()
                   if isinstance(m, nn.Conv2d))
    else:
        assert isinstance(stem, DGMConv)
        assert stem.pred_pattern == {
            'gmconv': 'sigma1_ratio', 'gmconv-sigma': 'sigma',
            'gmconv-sigma1-sigma2': 'sigma1_sigma2'}[method]
        assert all(type(m) is SGMConv for m in body)
    num_classes = cfg.model.get('head', {}).get('num_classes') or 1000
    data = dict(
        inputs=torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8),
        data_samples=[DataSample().set_gt_label(i % num_classes)
                      for i in range(2)])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses['loss'])


@pytest.mark.parametrize('std,sgm', [
    ('cifar/resnet20_1xb128_cifar10.py',
     'cifar/resnet20-sgmconv_1xb128_cifar10.py'),
    ('cifar/resnet18_1xb128_cifar100.py',
     'cifar/resnet18-sgmconv_1xb128_cifar100.py'),
    ('imagenet/alexnet_8xb32_in1k.py',
     'imagenet/alexnet-sgmconv_8xb32_in1k.py'),
    ('imagenet/mobilenet-v2_8xb32_in1k.py',
     'imagenet/mobilenet-v2-sgmconv_8xb32_in1k.py'),
])
def test_folded_s_gmconv_matches_plain_params(std, sgm):
    plain, gm = build(CLS / std), build(CLS / sgm)
    assert n_params(gm) > n_params(plain)
    fuse_gmconv(gm)
    assert n_params(gm) == n_params(plain)
    # exactly the plain architecture's keys
    assert list(gm.state_dict()) == list(plain.state_dict())


def test_paper_param_counts():
    # Table I / II (M): ResNet-20 0.27, ResNet-56 0.85, AlexNet 61.10,
    # ResNet-50 25.56, ResNet-18 11.69, MobileNetV2 3.50
    expected = {'cifar/resnet20_1xb128_cifar10.py': 0.27,
                'cifar/resnet56_1xb128_cifar10.py': 0.85,
                'imagenet/alexnet_8xb32_in1k.py': 61.10,
                'imagenet/resnet18_8xb32_in1k.py': 11.69,
                'imagenet/resnet50_8xb32_in1k.py': 25.56,
                'imagenet/mobilenet-v2_8xb32_in1k.py': 3.50}
    # The paper rounds to 0.01M (CIFAR: He et al.'s zero-padding shortcuts).
    for path, millions in expected.items():
        assert round(n_params(build(CLS / path)) / 1e6, 2) == millions, path


#: The residual ResNets: ImageNet ResNet-18/50 and CIFAR ResNet-18/20/56
RESIDUAL_CONFIGS = [p for p in CONFIGS if p.stem.startswith('resnet')]


@pytest.mark.parametrize('path', RESIDUAL_CONFIGS, ids=lambda p: p.stem)
def test_residual_bns_start_at_one_as_in_the_papers_recipes(path):
    """The paper trains "based on the configuration from the original paper
    [2] or the samples from PyTorch" (ImageNet) and as Cutout (CIFAR
    ResNet-18): none of them zero-initialises the last BN of a residual
    block, which mmpretrain's ResNet does by default."""
    model = build(path)
    model.init_weights()
    blocks = [m for m in model.backbone.modules()
              if hasattr(m, 'norm2') and hasattr(m, 'downsample')]
    assert blocks
    for block in blocks:
        last = getattr(block, 'norm3', None) or block.norm2
        assert torch.equal(last.weight, torch.ones_like(last.weight)), path


def test_digits_demo_config_states_its_conv_types():
    path = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
    cfg = Config.fromfile(path)
    check_config_states_conv_types(path, cfg)
    model = build(cfg)
    assert isinstance(model.backbone.conv1, DGMConv)
    assert all(type(m) is SGMConv for name, m in model.backbone.named_modules()
               if name.startswith('layer') and isinstance(m, nn.Conv2d)
               and m.kernel_size != (1, 1))


def test_digits_training_learns(tmp_path):
    """GMConv ResNet-20 on scikit-learn digits, 10 epochs on CPU."""
    cfg = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', tmp_path],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', cfg, tmp_path / 'epoch_10.pth',
         '--work-dir', tmp_path], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| top-1 | top-5 |' in proc.stdout
    top1 = json.loads((tmp_path / 'metrics.json').read_text())['metrics'][
        'accuracy/top1']
    assert top1 >= 90, f'top-1 {top1}% (chance is 10%)'


HANDOFF_CFG = """
_base_ = '{cfg}'
dataset = dict(_delete_=True, type='CustomDataset', data_root='{data}',
               ann_file='',
               pipeline=[dict(type='LoadImageFromFile'),
                         dict(type='Resize', scale=(64, 64)),
                         dict(type='PackInputs')])
train_dataloader = dict(batch_size=2, num_workers=0,
                        persistent_workers=False, dataset=dataset,
                        sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(_delete_=True, by_epoch=False, max_iters=2, val_interval=100)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2))
randomness = dict(seed=0)
"""


def test_imagenet_gmconv_resnet50_loads_into_detection_backbone(tmp_path):
    import cv2
    rng = np.random.default_rng(0)
    for cls in ('a', 'b'):
        (tmp_path / 'data' / cls).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(tmp_path / 'data' / cls / f'{i}.png'),
                        rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    cfg = tmp_path / 'cls.py'
    cfg.write_text(HANDOFF_CFG.format(
        cfg=CLS / 'imagenet/resnet50-gmconv_8xb32_in1k.py',
        data=tmp_path / 'data'))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', tmp_path / 'w'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt_path = tmp_path / 'w/iter_2.pth'
    ckpt = torch.load(ckpt_path)['state_dict']

    det_cfg = Config.fromfile(
        ROOT /
        'configs/gmconv/faster-rcnn_r50-gmconv-stem-l1-l4_fpn_1x_coco.py')
    det_cfg.model.backbone.init_cfg.checkpoint = str(ckpt_path)
    from mmdet.registry import MODELS as DET_MODELS
    init_default_scope('mmdet')
    backbone = DET_MODELS.build(det_cfg.model.backbone)
    det_keys = set(backbone.state_dict())
    cls_backbone_keys = {k[len('backbone.'):] for k in ckpt
                         if k.startswith('backbone.')}
    assert det_keys == cls_backbone_keys
    assert {k.split('.')[0] for k in ckpt} == {'backbone', 'head'}
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, ckpt['backbone.' + k]), k
    # The loaded values are the trained ones, not the initial sigma of 5.
    trained_sigmas = [k for k in det_keys if k.endswith('.sigma') and
                      not torch.equal(ckpt['backbone.' + k], torch.tensor(5.))]
    assert trained_sigmas


def test_bad_classification_inputs():
    init_default_scope('mmpretrain')
    with pytest.raises(ValueError, match=r'GMResNet_CIFAR depth must be one '
                       r'of \[18, 20, 32, 34, 44, 50, 56, 101, 110, 152\], '
                       r'got 19'):
        MODELS.build(dict(type='GMResNet_CIFAR', depth=19))
    with pytest.raises(ValueError, match='depth 20 has 3 stages, got '
                       'num_stages=4'):
        MODELS.build(dict(type='GMResNet_CIFAR', depth=20, num_stages=4))
    with pytest.raises(ValueError,
                       match=r"GMResNet_CIFAR shortcut must be one "
                       r"of \('projection', 'zero_pad'\), got 'A'"):
        MODELS.build(dict(type='GMResNet_CIFAR', depth=20, num_stages=3,
                          shortcut='A'))
    with pytest.raises(ValueError, match='cannot reduce channels: 32 -> 16'):
        ZeroPadShortcut(32, 16, 2)
    with pytest.raises(ValueError, match="conv_cfg: unknown conv type 'GM'"):
        MODELS.build(dict(type='GMAlexNet', conv_cfg=dict(type='GM')))
    with pytest.raises(ValueError, match='num_classes must be -1'):
        MODELS.build(dict(type='GMAlexNet', num_classes=0))
    with pytest.raises(ValueError, match="stem_conv_cfg: unknown conv type"):
        MODELS.build(dict(type='GMMobileNetV2', stem_conv_cfg=dict(type='X')))
    with pytest.raises(ValueError, match=r'gmconv_stages must be 4 booleans '
                       r'for \(stem, layer1, layer2, layer3\)'):
        MODELS.build(dict(type='GMResNet_CIFAR', depth=20, num_stages=3,
                          gmconv_cfg=PAPER_GMCONV_CFG,
                          gmconv_stages=(True, ) * 5))
    cfg = Config.fromfile(CLS / 'cifar/resnet20_1xb128_cifar10.py')
    with pytest.raises(FileNotFoundError, match=r"data_root: 'data/cifar10' "
                       r'does not exist .*CIFAR-10/100'):
        check_dataset_paths(cfg)


def test_zero_pad_shortcut_subsamples_and_pads():
    x = torch.randn(2, 16, 9, 9)
    out = ZeroPadShortcut(16, 32, 2)(x)
    assert out.shape == (2, 32, 5, 5)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2])
    assert not out[:, 16:].any()
    init_default_scope('mmpretrain')
    net = build(CLS / 'cifar/resnet20_1xb128_cifar10.py').backbone
    assert isinstance(net.layer2[0].downsample, ZeroPadShortcut)
    assert not any('downsample' in k for k in net.state_dict())


def test_fig6_sigma_init_override():
    cfg = Config.fromfile(CLS / 'cifar/resnet20-sgmconv_1xb128_cifar10.py')
    cfg.merge_from_dict({'model.backbone.gmconv_cfg.stem.sigma_init': 1.0,
                         'model.backbone.gmconv_cfg.body.sigma_init': 1.0})
    model = build(cfg)
    sigmas = [m.sigma.item() for m in model.modules()
              if isinstance(m, SGMConv) and m.sigma is not None]
    assert isinstance(model.backbone.conv1, SGMConv)
    assert len(sigmas) == 19 and set(sigmas) == {1.0}


@pytest.mark.parametrize('backbone', [
    dict(type='GMResNet_CIFAR', depth=20, num_stages=3, stem_channels=16,
         base_channels=16, strides=(1, 2, 2), dilations=(1, 1, 1),
         out_indices=(2, ), shortcut='zero_pad',
         gmconv_cfg=PAPER_GMCONV_CFG, gmconv_stages=(True, ) * 4),
    dict(type='GMResNet', depth=18, base_channels=8,
         gmconv_cfg=PAPER_GMCONV_CFG, gmconv_stages=(False, ) + (True, ) * 4),
    dict(type='GMAlexNet', stem_conv_cfg=dict(type='DGMConv'),
         conv_cfg=dict(type='SGMConv')),
    dict(type='GMMobileNetV2', widen_factor=0.25,
         stem_conv_cfg=dict(type='SGMConv'), conv_cfg=dict(type='SGMConv')),
], ids=lambda b: b['type'])
def test_deploy_and_fold_on_load(backbone):
    """``deploy=True`` builds S-GMConv as plain convs; the GMConv network's
    checkpoint loads into it strictly (its masks folded on load), with the
    same output."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    gm = MODELS.build(backbone)
    gm.eval()  # mmpretrain's ResNet.train() returns None
    with torch.no_grad():
        for name, p in gm.named_parameters():
            if name.endswith('.sigma'):
                p.uniform_(0.5, 2.0)
    deploy = MODELS.build(dict(backbone, deploy=True))
    assert not any(isinstance(m, SGMConv) for m in deploy.modules())
    assert any(isinstance(m, DGMConv) for m in deploy.modules()) == any(
        isinstance(m, DGMConv) for m in gm.modules())
    deploy.load_state_dict(gm.state_dict(), strict=True)
    deploy.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(deploy(x), gm(x), rtol=0, atol=0)
    gm.switch_to_deploy()
    assert list(gm.state_dict()) == list(deploy.state_dict())
