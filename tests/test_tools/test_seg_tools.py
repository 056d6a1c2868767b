"""tools/test.py, tools/image_demo.py and tools/deploy/export_onnx.py take
a segmentation (mmseg) config."""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmgmconv.datasets import (
    SHAPES_SEG_CLASSES,
    SHAPES_SEG_PALETTE,
    make_shapes_coco,
)

#: subprocess runs of the tools: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DEMO = 'configs/demo/deeplabv3plus_r18-gmconv-tiny_shapes.py'


def run_tool(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('seg')
    data = make_shapes_coco(tmp / 'shapes', num_train=2, num_val=3)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(ROOT / DEMO).model)
    ckpt = tmp / 'seg.pth'
    torch.save(dict(meta=dict(dataset_meta=dict(
        classes=SHAPES_SEG_CLASSES, palette=SHAPES_SEG_PALETTE)),
        state_dict=model.state_dict()), ckpt)
    return tmp, data, ckpt


def test_test_tool_prints_and_saves_miou(demo_checkpoint):
    tmp, data, ckpt = demo_checkpoint
    out = run_tool('tools/test.py', DEMO, ckpt, '--work-dir', tmp / 'work',
                   '--cfg-options',
                   f'test_dataloader.dataset.data_root={data}',
                   'test_dataloader.num_workers=0',
                   'test_dataloader.persistent_workers=False')
    assert '| aAcc | mIoU | mAcc |' in out
    saved = json.loads((tmp / 'work/metrics.json').read_text())
    assert set(saved['metrics']) == {'aAcc', 'mIoU', 'mAcc'}
    assert 0 <= saved['metrics']['mIoU'] <= 100


def test_image_demo_draws_masks_with_mmseg(demo_checkpoint):
    tmp, data, ckpt = demo_checkpoint
    images = [data / 'val/00001.png', data / 'val/00002.png']
    out = run_tool('tools/image_demo.py', *images, DEMO, '--weights', ckpt,
                   '--out-dir', tmp / 'demo', '--device', 'cpu')
    for image in images:
        line, = (ln for ln in out.splitlines()
                 if ln.startswith(str(image)))
        shares = [float(s.split()[-1].rstrip('%'))
                  for s in line.split(': ', 1)[1].split(', ')]
        assert abs(sum(shares) - 100) < 0.5
        assert (tmp / 'demo/vis' / image.name).is_file()
        # the label mask, named after its input as detection's preds/
        mask = cv2.imread(str(tmp / 'demo/preds' / f'{image.stem}.png'),
                          cv2.IMREAD_UNCHANGED)
        assert mask.shape == cv2.imread(str(image)).shape[:2]
        assert set(np.unique(mask)) <= {0, 1, 2, 3}
    assert sorted(p.name for p in (tmp / 'demo/preds').iterdir()) == sorted(
        f'{image.stem}.png' for image in images)


def test_export_tool_verifies_the_segmentor(demo_checkpoint):
    tmp, _, ckpt = demo_checkpoint
    out = run_tool('tools/deploy/export_onnx.py', DEMO, ckpt,
                   tmp / 'seg.onnx', '--shape', '64', '96', '--verify')
    assert 'onnxruntime vs PyTorch at batch 3, 96x128' in out


def test_image_demo_takes_the_classes_of_the_config(demo_checkpoint):
    """A checkpoint without class names: mmseg's inferencer labels the
    masks with Cityscapes' 19 classes."""
    from mmseg.apis import MMSegInferencer
    tmp, _, ckpt = demo_checkpoint
    state = torch.load(ckpt)['state_dict']
    torch.save(dict(state_dict=state), tmp / 'no_meta.pth')
    spec = importlib.util.spec_from_file_location(
        'image_demo', ROOT / 'tools/image_demo.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = argparse.Namespace(config=str(ROOT / DEMO),
                              weights=str(tmp / 'no_meta.pth'))
    inferencer = tool.strict_inferencer(MMSegInferencer, args)(
        args.config, args.weights, device='cpu')
    assert tuple(inferencer.model.dataset_meta['classes']) == \
        SHAPES_SEG_CLASSES
    assert [list(c) for c in inferencer.model.dataset_meta['palette']] == \
        [list(c) for c in SHAPES_SEG_PALETTE]
