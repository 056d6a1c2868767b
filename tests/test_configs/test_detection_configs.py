"""Every detection config builds with mmdet's registry and steps on CPU."""
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmgmconv import DGMConv, GMResNet, SGMConv
from model_structure import check_config_states_conv_types

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
CONFIGS = sorted((ROOT / 'configs/gmconv').glob('*.py'))
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'

# Table V's rows (Table III's are its baseline and Stem L1-L4 rows), each
# for Faster and Cascade R-CNN: the config variant, the parts (stem,
# layer1, ..., layer4) with GMConv, and whether layer2-4 use DCN
EXPECTED = {
    'r50': ((False, ) * 5, False),
    'r50-gmconv-stem-l1': ((True, True, False, False, False), False),
    'r50-gmconv-stem-l1-l2': ((True, True, True, False, False), False),
    'r50-gmconv-stem-l1-l3': ((True, True, True, True, False), False),
    'r50-gmconv-stem-l1-l4': ((True, ) * 5, False),
    'r50-dconv-c3-c5': ((False, ) * 5, True),
    'r50-gmconv-stem-l1-dconv-c3-c5': ((True, True, False, False, False),
                                       True),
}


@pytest.mark.parametrize('det', ['faster', 'cascade'])
@pytest.mark.parametrize('variant', list(EXPECTED))
def test_table_v_row_has_its_config(det, variant):
    """Each row of Table V has its config, with the row's GMConv stages and
    DCN stages and the paper's COCO schedule (Sec. IV-A: 1x, lr 0.02,
    momentum 0.9, weight decay 1e-4). The built models are checked in
    test_config_builds_trains_and_infers."""
    path = ROOT / f'configs/gmconv/{det}-rcnn_{variant}_fpn_1x_coco.py'
    assert path.is_file(), f'Table V row {variant!r} ({det}) has no config'
    cfg = Config.fromfile(path)
    stages, with_dcn = EXPECTED[variant]
    backbone = cfg.model.backbone
    assert tuple(backbone.get('gmconv_stages') or (False, ) * 5) == stages
    assert tuple(backbone.get('stage_with_dcn') or (False, ) * 4) == (
        (False, True, True, True) if with_dcn else (False, ) * 4)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.momentum, opt.weight_decay) == (0.02, 0.9, 1e-4)
    assert cfg.train_cfg.max_epochs == 12


def parts_with(model, cls):
    backbone = model.backbone
    parts = [backbone.conv1] + [getattr(backbone, f'layer{i}')
                                for i in range(1, 5)]
    return tuple(
        any(isinstance(m, cls) for m in part.modules()) for part in parts)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_trains_and_infers(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == [
        'mmgmconv', 'mmgmconv.safe_checkpoints', 'mmgmconv.toolboxes.mmdet']
    stages = tuple(cfg.model.backbone.get('gmconv_stages') or (False, ) * 5)
    with_dcn = cfg.model.backbone.get('dcn') is not None
    init_default_scope('mmdet')
    check_config_states_conv_types(path, cfg)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    # each row starts from an ImageNet ResNet-50 of our recipe (mmpretrain
    # checkpoint): GMConv rows the GMConv one, baseline and DCN the plain one
    init = cfg.model.backbone.init_cfg
    assert init.checkpoint == ('checkpoints/resnet50-gmconv_in1k.pth'
                               if any(stages) else
                               'checkpoints/resnet50_in1k.pth')
    assert init.prefix == 'backbone.'
    if any(stages):
        assert isinstance(model.backbone, GMResNet)
    assert parts_with(model, (SGMConv, DGMConv)) == stages
    assert isinstance(model.backbone.conv1, DGMConv) == stages[0]
    dcn = any('DeformConv' in type(m).__name__ for m in model.modules())
    assert dcn == with_dcn

    data = demo_mm_inputs(batch_size=1, image_shapes=[(3, 96, 128)],
                          num_items=[2], num_classes=80)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    model.train()
    losses = model.train_step(data, optim)
    assert all(torch.isfinite(v).all() for v in losses.values())
    model.eval()
    with torch.no_grad():
        results = model.test_step(data)
    assert len(results) == 1 and hasattr(results[0], 'pred_instances')


def test_demo_config_is_a_gmconv_detector(tmp_path):
    Config.fromfile(DEMO).dump(tmp_path / 'dumped.py')  # as tools/train.py
    cfg = Config.fromfile(tmp_path / 'dumped.py')
    check_config_states_conv_types(DEMO, cfg)
    assert cfg.model.backbone.gmconv_cfg.stem.type == 'DGMConv'
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert isinstance(model.backbone.conv1, DGMConv)
    assert parts_with(model, SGMConv)[1:] == (True, ) * 4


@pytest.mark.parametrize('variant', ['r50', 'r50-dconv-c3-c5'])
def test_plain_rows_load_the_plain_imagenet_resnet50(variant, tmp_path):
    """The baseline and DCN rows load the plain ImageNet ResNet-50 of
    configs/classification/imagenet (an mmpretrain checkpoint): every
    backbone weight is the checkpoint's; only DCN's offset convs, which
    ResNet-50 has not, keep their init."""
    from mmpretrain.registry import MODELS as CLS_MODELS
    init_default_scope('mmpretrain')
    cls_cfg = Config.fromfile(
        ROOT / 'configs/classification/imagenet/resnet50_8xb32_in1k.py')
    torch.manual_seed(0)
    classifier = CLS_MODELS.build(cls_cfg.model)
    ckpt = tmp_path / 'resnet50_in1k.pth'
    torch.save(dict(state_dict=classifier.state_dict()), ckpt)

    cfg = Config.fromfile(
        ROOT / f'configs/gmconv/faster-rcnn_{variant}_fpn_1x_coco.py')
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    init_default_scope('mmdet')
    torch.manual_seed(1)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    expected = classifier.state_dict()
    offsets = 0
    for key, value in backbone.state_dict().items():
        if 'conv_offset' in key:
            offsets += 1
            continue
        assert torch.equal(value, expected['backbone.' + key]), key
    assert (offsets > 0) == ('dconv' in variant)
