"""The shapes dataset's semantic masks and the segmentation demo."""
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmgmconv.datasets import SHAPES_SEG_CLASSES, make_shapes_coco

ROOT = Path(__file__).parents[2]
DEMO = ROOT / 'configs/demo/deeplabv3plus_r18-gmconv-tiny_shapes.py'


def test_masks_match_the_boxes(tmp_path):
    import json
    root = make_shapes_coco(tmp_path / 'shapes', num_train=6, num_val=2)
    coco = json.loads((root / 'annotations/instances_train.json').read_text())
    assert SHAPES_SEG_CLASSES == ('background', 'square', 'disc', 'triangle')
    for image in coco['images']:
        name = image['file_name']
        mask = cv2.imread(str(root / 'masks/train' / name),
                          cv2.IMREAD_UNCHANGED)
        assert mask.shape == (image['height'], image['width'])
        assert mask.dtype == np.uint8
        inside = np.zeros(mask.shape, bool)
        labels = set()
        for ann in coco['annotations']:
            if ann['image_id'] != image['id']:
                continue
            x, y, w, h = map(int, ann['bbox'])
            # cv2 draws a disc of radius size // 2 over 2 * radius + 1 px
            inside[y:y + h + 1, x:x + w + 1] = True
            labels.add(ann['category_id'])  # 1-based, as the mask values
        # shapes overlap by at most a third: each one stays visible
        assert set(np.unique(mask)) - {0} == labels
        assert not mask[~inside].any()  # nothing outside the boxes
    assert len(list((root / 'masks/val').glob('*.png'))) == 2


def test_dataset_without_masks_is_written_again(tmp_path):
    root = make_shapes_coco(tmp_path / 'shapes', num_train=3, num_val=1)
    image = (root / 'train/00001.png').read_bytes()
    shutil.rmtree(root / 'masks')  # as written before masks existed
    make_shapes_coco(root, num_train=3, num_val=1)
    assert (root / 'masks/train/00003.png').is_file()
    assert (root / 'train/00001.png').read_bytes() == image  # same images


def test_demo_config_is_a_gmconv_segmentor_on_the_shapes_masks():
    cfg = Config.fromfile(DEMO)
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.backbone.type == 'GMResNetV1c'
    assert cfg.model.backbone.gmconv_stages == (True, ) * 5
    # the GMConv of the R50-D8 configs, read from the same _base_ file
    seg = Config.fromfile(ROOT /
                          'configs/_base_/segmentation/gmconv_r50-d8.py')
    assert cfg.model.backbone.gmconv_cfg == seg.gmconv_backbone.gmconv_cfg
    assert cfg.model.decode_head.num_classes == len(SHAPES_SEG_CLASSES)
    assert cfg.val_evaluator.type == 'IoUMetric'
    dataset = cfg.train_dataloader.dataset
    assert tuple(dataset.metainfo.classes) == SHAPES_SEG_CLASSES
    assert dataset.data_prefix.seg_map_path == 'masks/train'


@pytest.mark.slow
def test_demo_learns(tmp_path):
    """The demo config, trained as it is on fewer validation images: mIoU
    well above what a constant 'background' prediction scores (its IoU
    over 4 classes, about 22 %; one run of this test under xdist gave 35.1)."""
    data = make_shapes_coco(tmp_path / 'shapes', num_val=16)
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'work')
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = str(data)
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    background = np.mean([
        cv2.imread(str(p), cv2.IMREAD_UNCHANGED) == 0
        for p in (data / 'masks/val').glob('*.png')])
    constant = 100 * background / len(SHAPES_SEG_CLASSES)
    assert metrics['mIoU'] > constant + 8, (metrics, constant)
