"""tools/image_demo.py: print and draw a detector's / classifier's output."""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from mmgmconv.datasets import make_shapes_coco
from tool_helpers import (
    confident_square_detector,
    import_tool,
    save_checkpoint,
)

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
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
    return import_tool('tools/image_demo.py')


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


def run_main(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['image_demo.py', *map(str, args)])
    load_tool().main()


@pytest.mark.parametrize('out_dir', ['parent', 'folder'])
def test_out_dir_over_the_inputs_is_refused(images, det_checkpoint, tmp_path,
                                            monkeypatch, out_dir):
    """``image_demo DIR/vis ... --out-dir DIR`` drew over the inputs."""
    inputs = tmp_path / 'vis'
    shutil.copytree(images, inputs)
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    out = tmp_path if out_dir == 'parent' else inputs
    with pytest.raises(ValueError, match=r'holds input images \(.*\), and the '
                       'demo never writes into an input folder'):
        run_main(monkeypatch, inputs, DEMO, '--weights', det_checkpoint,
                 '--out-dir', out)
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['vis']


def test_same_named_inputs_from_two_folders_are_kept_apart(
        images, det_checkpoint, tmp_path):
    first, second = sorted(images.iterdir())
    for folder, img in (('a', first), ('b', second)):
        (tmp_path / folder).mkdir()
        shutil.copy(img, tmp_path / folder / 'img.png')
    out = run_demo(tmp_path / 'a/img.png', tmp_path / 'b', DEMO, '--weights',
                   det_checkpoint, '--out-dir', tmp_path / 'out')
    assert sorted(p.name for p in (tmp_path / 'out/vis').iterdir()) == [
        'a__img.png', 'b__img.png']
    assert sorted(p.name for p in (tmp_path / 'out/preds').iterdir()) == [
        'a__img.json', 'b__img.json']
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'preds', 'vis']  # no scratch folder left
    for folder, img, other in (('a', first, second), ('b', second, first)):
        raw, other = cv2.imread(str(img)), cv2.imread(str(other))
        drawn = cv2.imread(str(tmp_path / 'out/vis' / f'{folder}__img.png'))
        # each drawing is of its own input: closer to it than to the other
        assert (drawn != raw).mean() < (drawn != other).mean()
        preds = json.loads((tmp_path / 'out/preds' / f'{folder}__img.json')
                           .read_text())
        assert f'{tmp_path / folder / "img.png"}: ' \
            f'{sum(s >= 0.3 for s in preds["scores"])} detection(s)' in out


def test_output_names():
    names = load_tool().output_names
    assert names(['x/a.png', 'y/b.jpg']) == ['a', 'b']
    assert names(['d/x/a.png', 'd/y/a.png', 'd/y/b.png']) == [
        'x__a', 'y__a', 'b']
    assert names(['d/a.png', 'd/a.jpg']) == ['a_png', 'a_jpg']


def test_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    """An 8000 x 8000 PNG whose pixel data is cut off: only its header is
    read, so the refusal names the size, not a decoding error."""
    from PIL import Image
    path = tmp_path / 'huge.png'
    Image.new('1', (8000, 8000)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    check = load_tool().check_image_sizes
    with pytest.raises(ValueError, match=r'huge.png is 8000 x 8000 = '
                       r'64000000 pixels, more than --max-pixels 16777216'):
        check([str(path)], 4096 * 4096)
    check([str(path)], 8000 * 8000)  # a raised limit lets it through


def test_max_pixels_option(images, det_checkpoint, tmp_path, monkeypatch):
    img = sorted(images.iterdir())[0]
    with pytest.raises(ValueError, match=rf'{img} is 128 x 128 = 16384 '
                       'pixels, more than --max-pixels 16000'):
        run_main(monkeypatch, img, DEMO, '--weights', det_checkpoint,
                 '--out-dir', tmp_path, '--max-pixels', 16000)
    assert not list(tmp_path.iterdir())


def test_input_linked_into_the_outputs_is_refused(images, det_checkpoint,
                                                  tmp_path, monkeypatch):
    """The guard compared the link's folder, not its file's: the drawing
    replaced the file the link points to."""
    real = tmp_path / 'out/vis/img.png'
    real.parent.mkdir(parents=True)
    shutil.copy(sorted(images.iterdir())[0], real)
    link = tmp_path / 'links/img.png'
    link.parent.mkdir()
    link.symlink_to(real)
    before = real.read_bytes()
    with pytest.raises(ValueError, match=rf'--out-dir {tmp_path}/out: '
                       rf'{tmp_path}/out/vis holds input images \({link}, '
                       rf'resolved: {real}\)'):
        run_main(monkeypatch, link, DEMO, '--weights', det_checkpoint,
                 '--out-dir', tmp_path / 'out')
    assert real.read_bytes() == before and link.is_symlink()


@pytest.mark.parametrize('meta', [None, SHAPES_META])
def test_detection_classes_come_from_the_checkpoint_or_the_config(
        det_checkpoint, tmp_path, meta):
    """Without class names in the checkpoint, mmdet's inferencer labels the
    boxes with COCO's classes."""
    from mmdet.apis import DetInferencer
    ckpt = torch.load(det_checkpoint)
    if meta:
        meta = copy.deepcopy(meta)
        meta['dataset_meta']['classes'] = ('a', 'b', 'c')
    ckpt['meta'] = meta or {}
    torch.save(ckpt, tmp_path / 'c.pth')
    args = argparse.Namespace(config=str(DEMO), weights=str(tmp_path /
                                                             'c.pth'))
    inferencer = load_tool().strict_inferencer(DetInferencer, args)(
        args.config, args.weights, device='cpu', show_progress=False)
    assert tuple(inferencer.model.dataset_meta['classes']) == (
        ('a', 'b', 'c') if meta else ('square', 'disc', 'triangle'))
