"""tools/test.py: mmdet's and mmpretrain's options, checkpoints by URL."""
import argparse
import functools
import http.server
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import mmengine
import pytest
import torch

from mmgmconv.checkpoint_safety import cached_checkpoint_path
from mmgmconv.datasets import make_shapes_coco
from tool_helpers import confident_square_detector, save_checkpoint

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'


def run_test_tool(*args, env=None):
    env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run([sys.executable, 'tools/test.py', *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    root = make_shapes_coco(tmp_path_factory.mktemp('shapes') / 'shapes',
                            num_train=1, num_val=3)
    return Path(root)


def shapes_options(root):
    return [
        '--cfg-options', f'test_dataloader.dataset.data_root={root}/',
        f'test_evaluator.ann_file={root}/annotations/instances_val.json',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]


@pytest.fixture(scope='module')
def served_checkpoint(tmp_path_factory):
    """An http:// URL of a detector checkpoint, served from this process."""
    folder = tmp_path_factory.mktemp('served')
    save_checkpoint(DEMO, folder / 'det.pth', confident_square_detector)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(folder))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/det.pth'
    server.shutdown()


@pytest.fixture(scope='module')
def det_run(shapes, served_checkpoint, tmp_path_factory):
    """tools/test.py on the URL, with --out and --show-dir."""
    work = tmp_path_factory.mktemp('det_work')
    torch_home = tmp_path_factory.mktemp('torch_home')
    proc = run_test_tool(
        DEMO, served_checkpoint, '--work-dir', work, '--out',
        work / 'preds.pkl', '--show-dir', 'shown', *shapes_options(shapes),
        env=dict(TORCH_HOME=str(torch_home), NO_PROXY='127.0.0.1'))
    return proc, work, torch_home


def test_checkpoint_url_is_downloaded_and_evaluated(det_run,
                                                    served_checkpoint):
    proc, work, torch_home = det_run
    assert Path(cached_checkpoint_path(
        served_checkpoint, str(torch_home / 'hub/checkpoints/by-url'))
                ).is_file()
    assert '| AP | AP50 | AP75 | APs | APm | APl |' in proc.stdout
    assert (work / 'metrics.json').is_file()


def test_out_dumps_predictions_that_reload(det_run, shapes):
    _, work, _ = det_run
    preds = mmengine.load(work / 'preds.pkl')
    assert sorted(Path(p['img_path']).name for p in preds) == \
        sorted(p.name for p in (shapes / 'val').iterdir())
    for pred in preds:
        boxes = pred['pred_instances']['bboxes']
        assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) > 0
        assert pred['pred_instances']['scores'].shape == (len(boxes), )
        assert 'gt_instances' not in pred  # DumpDetResults drops them


def test_show_dir_draws_the_predicted_boxes_on_every_test_image(
        det_run, shapes):
    proc, work, _ = det_run
    drawn = sorted(work.glob('*/shown/*.png'))
    assert [p.name for p in drawn] == \
        sorted(p.name for p in (shapes / 'val').iterdir())
    assert f'drawn predictions: {drawn[0].parent}' in proc.stdout
    preds = {Path(p['img_path']).name: p['pred_instances']
             for p in mmengine.load(work / 'preds.pkl')}
    for path in drawn:
        raw = cv2.imread(str(shapes / 'val' / path.name))
        img = cv2.imread(str(path))
        h, w = raw.shape[:2]
        # ground truth on the left, predictions on the right (mmdet)
        assert img.shape == (h, 2 * w, 3)
        pred_panel = img[:, w:].astype(int)
        assert (pred_panel != raw).any()
        # the best box's left edge is drawn, half-way down
        x1, y1, _, y2 = preds[path.name]['bboxes'][0].round().int().tolist()
        x1, y = min(max(x1, 0), w - 1), min(max((y1 + y2) // 2, 0), h - 1)
        assert (pred_panel[y, x1] != raw[y, x1]).any()


def test_tta_merges_the_flipped_image_into_the_predictions(
        det_run, shapes, served_checkpoint, tmp_path):
    _, work, torch_home = det_run
    proc = run_test_tool(
        DEMO, served_checkpoint, '--work-dir', tmp_path, '--tta', '--out',
        tmp_path / 'tta.pkl', *shapes_options(shapes),
        env=dict(TORCH_HOME=str(torch_home), NO_PROXY='127.0.0.1'))
    assert '| AP | AP50 |' in proc.stdout
    plain = {p['img_id']: p for p in mmengine.load(work / 'preds.pkl')}
    tta = mmengine.load(tmp_path / 'tta.pkl')
    assert sorted(p['img_id'] for p in tta) == sorted(plain)
    # the images went through the flip TTA pipeline, and merging the two
    # views' boxes changed the plain model's predictions
    assert all('flip_direction' in p for p in tta)
    assert not any('flip' in p for p in plain.values())
    assert any(not torch.equal(p['pred_instances']['bboxes'],
                               plain[p['img_id']]['pred_instances']['bboxes'])
               for p in tta)


def test_classification_config_out_show_dir_and_interval(tmp_path):
    ckpt = save_checkpoint(DIGITS, tmp_path / 'cls.pth')
    run_test_tool(DIGITS, ckpt, '--work-dir', tmp_path / 'w', '--out',
                  tmp_path / 'preds.pkl', '--show-dir', tmp_path / 'shown',
                  '--interval', 120)
    preds = mmengine.load(tmp_path / 'preds.pkl')
    assert len(preds) == 360  # the digits test split
    assert all(p['pred_score'].shape == (10, ) for p in preds)
    # mmpretrain's hook names in-memory images by index; every 120th drawn
    drawn = sorted(p.name for p in (tmp_path / 'shown').iterdir())
    assert drawn == ['0_0.png', '120_0.png', '240_0.png']


def background_only_detector(state):
    """The R-CNN head scores every box as background: no detection at all
    on the whole test set."""
    state['roi_head.bbox_head.fc_cls.bias'][:] = torch.tensor(
        [-10., -10., -10., 10.])


def test_no_metrics_is_an_error_not_an_empty_table(shapes, tmp_path):
    ckpt = save_checkpoint(DEMO, tmp_path / 'det.pth',
                           background_only_detector)
    work = tmp_path / 'w'
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', str(DEMO), str(ckpt), '--work-dir',
         str(work), '--out', str(tmp_path / 'preds.pkl'),
         *shapes_options(shapes)],
        cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    assert 'the evaluation returned no metrics (CocoMetric, DumpDetResults)' \
        in proc.stderr
    assert 'The testing results of the whole dataset is empty' in proc.stdout
    assert '|  |' not in proc.stdout
    assert not (work / 'metrics.json').exists()
    # the predictions themselves are complete: written, under their name
    assert len(mmengine.load(tmp_path / 'preds.pkl')) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'det.pth', 'preds.pkl', 'w']


def load_tool():
    spec = importlib.util.spec_from_file_location('test_tool',
                                                  ROOT / 'tools/test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('change, scope, error', [
    (dict(checkpoint='missing.pth'), 'mmdet',
     r"checkpoint 'missing.pth' not found: give a local file or a URL"),
    (dict(out='preds.json'), 'mmdet',
     r"--out must name a .pkl or .pickle file, got 'preds.json'"),
    (dict(interval=5), 'mmdet', r'--interval .* default_scope=.mmdet.'),
    (dict(interval=0), 'mmpretrain', r'--interval takes a positive int'),
    (dict(tta=True), None, r'need an mmdet or mmpretrain config'),
])
def test_bad_options_are_clear_errors(tmp_path, change, scope, error):
    ckpt = tmp_path / 'x.pth'
    ckpt.touch()
    args = dict(config='c.py', checkpoint=str(ckpt), out=None, show=False,
                show_dir=None, tta=False, interval=None)
    args.update(change)
    with pytest.raises((ValueError, FileNotFoundError), match=error):
        load_tool().check_args(argparse.Namespace(**args), scope)


def test_urls_pass_the_local_file_check():
    for url in ('torchvision://resnet50', 'https://x.org/a.pth'):
        load_tool().check_args(
            argparse.Namespace(config='c.py', checkpoint=url, out=None,
                               show=False, show_dir=None, tta=False,
                               interval=None), 'mmdet')


def run_main(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['test.py', *map(str, args)])
    load_tool().main()


@pytest.fixture(scope='module')
def det_checkpoint(tmp_path_factory):
    return save_checkpoint(DEMO, tmp_path_factory.mktemp('ckpt') / 'det.pth')


@pytest.mark.parametrize('where, relation', [
    ('val', 'is'), ('.', 'holds'), ('val/drawn', 'lies inside')])
def test_show_dir_at_the_test_images_is_refused(shapes, det_checkpoint,
                                                tmp_path, monkeypatch, where,
                                                relation):
    """mmdet's hook saved each drawing over its image (exit 0)."""
    images = sorted((shapes / 'val').iterdir())
    before = {p: p.read_bytes() for p in images}
    show_dir = shapes / where
    with pytest.raises(ValueError, match=(
            rf'--show-dir {show_dir} \({show_dir.resolve()}\) {relation} '
            r'the folder of the test data, test_dataloader.dataset.'
            rf'data_prefix = {shapes}/val/ \({shapes / "val"}\)')):
        run_main(monkeypatch, DEMO, det_checkpoint, '--work-dir',
                 tmp_path / 'w', '--show-dir', show_dir,
                 *shapes_options(shapes))
    assert {p: p.read_bytes() for p in sorted((shapes / 'val').iterdir())
            } == before


def test_checkpoint_meta_of_another_class_count_is_refused(
        shapes, det_checkpoint, tmp_path, monkeypatch):
    """The 3-class detector's weights with COCO's 80 names in its meta."""
    from mmdet.evaluation import get_classes
    ckpt = torch.load(det_checkpoint)
    ckpt['meta'] = dict(dataset_meta=dict(classes=get_classes('coco')))
    path = tmp_path / 'det.pth'
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match=r'meta of checkpoint .*det.pth '
                       r'names 80 classes .* roi_head.bbox_head '
                       r'num_classes=3'):
        run_main(monkeypatch, DEMO, path, '--work-dir', tmp_path / 'w',
                 *shapes_options(shapes))
    assert not (tmp_path / 'w/metrics.json').exists()
