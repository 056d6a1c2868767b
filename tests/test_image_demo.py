"""tools/image_demo.py: print and draw a detector's / classifier's output."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from mmgmconv.datasets import make_shapes_coco
from test_test_tool import (DEMO, DIGITS, confident_square_detector,
                            save_checkpoint)

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
SHAPES_META = dict(dataset_meta=dict(classes=('square', 'disc', 'triangle')))


def run_demo(*args):
    proc = subprocess.run(
        [sys.executable, 'tools/image_demo.py', *map(str, args)], cwd=ROOT,
        capture_output=True, text=True, env=dict(os.environ,
                                                 OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = make_shapes_coco(tmp_path_factory.mktemp('shapes') / 'shapes',
                            num_train=1, num_val=2)
    return Path(root) / 'val'


@pytest.fixture(scope='module')
def det_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'det.pth'
    save_checkpoint(DEMO, path, confident_square_detector)
    ckpt = torch.load(path)
    ckpt['meta'] = SHAPES_META
    torch.save(ckpt, path)
    return path


def test_detection_demo_prints_and_draws_the_boxes(images, det_checkpoint,
                                                    tmp_path):
    out = run_demo(images, DEMO, '--weights', det_checkpoint, '--out-dir',
                   tmp_path, '--score-thr', '0.5')
    for img in sorted(images.iterdir()):
        preds = json.loads((tmp_path / 'preds' / f'{img.stem}.json')
                           .read_text())
        kept = [i for i, s in enumerate(preds['scores']) if s >= 0.5]
        assert kept  # the checkpoint scores every box ~0.98
        assert f'{img}: {len(kept)} detection(s) with score >= 0.5' in out
        box = preds['bboxes'][kept[0]]
        # class names from the checkpoint's meta, the box as saved
        assert (f'square       {preds["scores"][kept[0]]:.3f}  '
                f'[{", ".join(f"{v:.1f}" for v in box)}]') in out
        drawn = cv2.imread(str(tmp_path / 'vis' / img.name))
        raw = cv2.imread(str(img))
        assert drawn.shape == raw.shape and (drawn != raw).any()
    assert f'drawn predictions: {tmp_path / "vis"}' in out


def test_classification_demo_prints_and_draws_the_class(tmp_path):
    from mmgmconv.datasets.digits import SklearnDigits
    digits = SklearnDigits(split='test', pipeline=[])
    for i in range(2):
        cv2.imwrite(str(tmp_path / f'digit{i}.png'), digits[i]['img'])
    ckpt = save_checkpoint(DIGITS, tmp_path / 'cls.pth')
    out = run_demo(tmp_path / 'digit0.png', tmp_path / 'digit1.png', DIGITS,
                   '--weights', ckpt, '--out-dir', tmp_path / 'out')
    for i in range(2):
        line = next(x for x in out.splitlines()
                    if x.startswith(f'{tmp_path}/digit{i}.png: '))
        name, score = line.split(': ')[1].split()
        assert name in [str(d) for d in range(10)]
        assert 0.1 <= float(score.strip('()')) <= 1  # at least 1 / 10
        assert (tmp_path / 'out/vis' / f'digit{i}.png').is_file()


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'image_demo', ROOT / 'tools/image_demo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mismatched_checkpoint_is_a_clear_error(images, det_checkpoint,
                                                tmp_path, monkeypatch):
    ckpt = torch.load(det_checkpoint)
    del ckpt['state_dict']['backbone.layer1.0.conv1.sigma']
    torch.save(ckpt, tmp_path / 'bad.pth')
    monkeypatch.setattr(sys, 'argv', [
        'image_demo.py', str(images), str(DEMO), '--weights',
        str(tmp_path / 'bad.pth'), '--out-dir', str(tmp_path)
    ])
    with pytest.raises(RuntimeError, match=r'(?s)does not match the model of'
                       r'.*missing keys .*backbone.layer1.0.conv1.sigma'):
        load_tool().main()


def test_inputs_that_are_not_images_are_clear_errors(tmp_path):
    tool = load_tool()
    with pytest.raises(FileNotFoundError, match='is neither an image file'):
        tool.image_files([tmp_path / 'missing.png'])
    with pytest.raises(FileNotFoundError, match=r'no image \(.jpg, .*\) in'):
        tool.image_files([tmp_path])
