"""Every segmentation config builds with mmseg's registry and steps on CPU."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmgmconv import DGMConv, SGMConv
from mmgmconv.models import GMResNetV1c

#: builds and steps twelve R50-D8 segmentors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
CONFIGS = sorted((ROOT / 'configs/segmentation').glob('*.py'))

HEADS = {'pspnet': 'PSPHead', 'deeplabv3plus': 'DepthwiseSeparableASPPHead'}
#: dataset part of the name: (crop size, classes, iterations, batch per GPU)
DATASETS = {
    '4xb2-80k_cityscapes-512x1024': ((512, 1024), 19, 80000, 2),
    '4xb4-160k_ade20k-512x512': ((512, 512), 150, 160000, 4),
}
#: (stem, layer1, ..., layer4) with GMConv
VARIANTS = {
    'r50-d8': (False, ) * 5,
    'r50-d8-gmconv-stem-l1-l4': (True, ) * 5,
    # Table V's best GMConv-only row (37.9 / 40.7 AP)
    'r50-d8-gmconv-stem-l1-l2': (True, True, True, False, False),
}


def test_configs_are_heads_datasets_and_variants():
    assert {p.name for p in CONFIGS} == {
        f'{head}_{variant}_{data}.py'
        for head in HEADS for variant in VARIANTS for data in DATASETS}


def with_plain_bn(cfg):
    """SyncBN -> BN everywhere (SyncBN needs a process group)."""
    if isinstance(cfg, dict):
        return {k: (dict(v, type='BN') if k == 'norm_cfg' and v and
                    v.get('type') == 'SyncBN' else with_plain_bn(v))
                for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(with_plain_bn(v) for v in cfg)
    return cfg


def parts_with_gmconv(backbone):
    parts = [backbone.stem] + [getattr(backbone, f'layer{i}')
                               for i in range(1, 5)]
    return tuple(
        any(isinstance(m, (SGMConv, DGMConv)) for m in part.modules())
        for part in parts)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_steps(path):
    cfg = Config.fromfile(path)
    head, variant, data = path.stem.split('_', 2)
    crop, classes, iters, batch = DATASETS[data]
    stages = VARIANTS[variant]
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports['imports'] == [
        'mmgmconv', 'mmgmconv.safe_checkpoints', 'mmgmconv.toolboxes.mmseg']
    assert cfg.crop_size == crop and cfg.model.data_preprocessor.size == crop
    assert cfg.train_cfg.max_iters == iters
    assert cfg.train_dataloader.batch_size == batch
    assert dict(type='CrashSafeCheckpointHook') in cfg.custom_hooks
    assert cfg.model.pretrained is None  # not mmseg's ResNetV1c weights
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == ('checkpoints/resnet50-gmconv_in1k.pth'
                               if any(stages) else
                               'checkpoints/resnet50_in1k.pth')
    backbone = cfg.model.backbone
    assert (backbone.depth, backbone.dilations, backbone.strides,
            backbone.contract_dilation) == (50, (1, 1, 2, 4), (1, 2, 1, 1),
                                            True)

    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(with_plain_bn(cfg.model.to_dict()))
    assert type(model.decode_head).__name__ == HEADS[head]
    assert model.decode_head.num_classes == classes
    assert model.auxiliary_head.num_classes == classes
    assert isinstance(model.backbone, GMResNetV1c) == any(stages)
    assert parts_with_gmconv(model.backbone) == stages
    if any(stages):
        assert all(type(model.backbone.stem[i]) is DGMConv
                   for i in (0, 3, 6))
        assert model.backbone.stem[0].pred_pattern == 'sigma1_ratio'

    # one training step at a tiny size (the preprocessor pads to the crop)
    size = (64, 64)
    model.data_preprocessor.size = size
    samples = []
    for i in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size,
                                             pad_shape=size))
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, classes, (1, *size), generator=torch.Generator().manual_seed(
                i)))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 256, (3, *size), dtype=torch.uint8)
                        for _ in range(2)], data_samples=samples)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    model.train()
    losses = model.train_step(data, optim)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
