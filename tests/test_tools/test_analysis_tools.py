"""tools/analysis: figures, FLOPs, results table, benchmark (tiny models)."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmgmconv import SGMConv
from mmgmconv.apis import build_model_from_config
from mmgmconv.datasets import make_shapes_coco
from mmgmconv.ops.dgm_conv import CONV_PATHS

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'


def run(*args):
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def save_checkpoint(config, path, sigma):
    torch.manual_seed(0)
    model = build_model_from_config(config)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, SGMConv) and m.sigma is not None:
                m.sigma.fill_(sigma)
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def read_png(path):
    img = cv2.imread(str(path))
    assert img is not None and img.size > 0 and img.std() > 0, path
    return img


def test_vis_rf_masks_depends_on_sigma(tmp_path):
    pngs = {}
    for sigma in (0.5, 3.0):
        ckpt = save_checkpoint(DEMO, tmp_path / f's{sigma}.pth', sigma)
        out = tmp_path / f'out{sigma}'
        log = run('tools/analysis/vis_rf_masks.py', DEMO, ckpt,
                  '--out-dir', out)
        assert 'rf_masks.png' in log and 'sigma_vs_depth.png' in log
        pngs[sigma] = {n: read_png(out / n) for n in (
            'rf_masks.png', 'rf_masks_stage_mean.png', 'sigma_vs_depth.png')}
    for name in pngs[0.5]:
        a, b = pngs[0.5][name], pngs[3.0][name]
        assert a.shape != b.shape or not np.array_equal(a, b), name


def test_vis_erf_panels_per_checkpoint(tmp_path):
    root = make_shapes_coco(tmp_path / 'shapes', num_train=1, num_val=3)
    a = save_checkpoint(DEMO, tmp_path / 'a.pth', 0.3)
    b = save_checkpoint(DEMO, tmp_path / 'b.pth', 5.0)
    run('tools/analysis/vis_erf.py', DEMO, a, b, '--images', root / 'val',
        '--labels', 'narrow', 'wide', '--out', tmp_path / 'erf.png')
    two = read_png(tmp_path / 'erf.png')
    run('tools/analysis/vis_erf.py', DEMO, a, '--images', root / 'val',
        '--out', tmp_path / 'erf1.png')
    one = read_png(tmp_path / 'erf1.png')
    assert two.shape[1] > one.shape[1]  # one panel per checkpoint


def test_get_flops_folded_matches_plain(tmp_path):
    cfg = ROOT / ('configs/classification/cifar/'
                  'resnet20-sgmconv_1xb128_cifar10.py')
    plain_cfg = ROOT / ('configs/classification/cifar/'
                        'resnet20_1xb128_cifar10.py')
    out = tmp_path / 'f.json'
    run('tools/analysis/get_flops.py', cfg, '--shape', 32, 32, '--out', out)
    res = json.loads(out.read_text())
    plain = json.loads((lambda p: (run('tools/analysis/get_flops.py',
                                       plain_cfg, '--shape', 32, 32,
                                       '--out', p), p.read_text())[1])(
        tmp_path / 'p.json'))
    assert res['before']['gmconv_params'] == 19
    assert res['after']['gmconv_params'] == 0
    assert res['after']['params'] == plain['after']['params']
    assert res['after']['flops'] == plain['after']['flops']
    # ResNet-20 on CIFAR: 41M multiply-adds (Table I: 42 M)
    assert 40e6 < res['after']['flops'] < 42.5e6


def test_benchmark_runs_and_reports_ratios(tmp_path):
    out = tmp_path / 'b.json'
    log = run('tools/analysis/benchmark.py', '--batch', 1, '--size', 128,
              '--rounds', 1, '--layer-time', 0, '--layer-batch', 1,
              '--parts', 'backbone', 'layer', '--out', out)
    res = json.loads(out.read_text())
    variants = ['StdConv', 'S-GMConv', 'S-GMConv folded', 'GMConv',
                'GMConv folded', 'DCN L2-L4', 'GMConv-DCN']
    backbone = res['backbone']
    for phase in ('train step', 'inference'):
        assert list(backbone[phase]) == variants
    for v in variants:  # each row: its medians as ratios to StdConv's
        train, infer = (backbone[p][v] / backbone[p]['StdConv']
                        for p in ('train step', 'inference'))
        assert f'| {v} | {backbone["train step"][v]:.3f} | {train:.3f} | ' \
            f'{backbone["inference"][v]:.3f} | {infer:.3f} |' in log
    std = {p: backbone[p]['StdConv'] for p in ('train step', 'inference')}
    assert (f'| StdConv | {std["train step"]:.3f} | 1.000 | '
            f'{std["inference"]:.3f} | 1.000 |') in log
    layer = res['dgmconv_layer']
    assert list(layer) == ['stem', 'body']
    for shape, modes in layer.items():
        assert list(modes) == ['forward', 'forward + backward']
        names = list(modes['forward'])
        assert names[:5] == ['plain conv', 'D-GMConv grouped',
                             'D-GMConv per_image', 'D-GMConv unfold',
                             'D-GMConv patches']
        assert names[5] in {f'D-GMConv chosen ({p})' for p in CONV_PATHS}
        for name in names:
            cells = ''.join(f' {m[name] * 1e3:.1f} | '
                            f'{m[name] / m["plain conv"]:.3f} |'
                            for m in modes.values())
            assert f'| {shape} | {name} |{cells}' in log


def test_benchmark_onnxruntime_part(tmp_path):
    out = tmp_path / 'b.json'
    log = run('tools/analysis/benchmark.py', '--parts', 'onnxruntime',
              '--batch', 1, '--size', 64, '--layer-batch', 1, '--rounds', 1,
              '--out', out)
    times = json.loads(out.read_text())['onnxruntime']
    # name: (input shape, the plain graph it is compared with; ResNet-50 and
    # the plain stem are their own denominators, so their rows read 1.000)
    graphs = {
        'ResNet-50': ((1, 3, 64, 64), 'ResNet-50'),
        'S-GMConv ResNet-50, folded': ((1, 3, 64, 64), 'ResNet-50'),
        'GMConv ResNet-50, folded body': ((1, 3, 64, 64), 'ResNet-50'),
        'plain stem conv': ((1, 3, 224, 224), 'plain stem conv'),
        'D-GMConv stem': ((1, 3, 224, 224), 'plain stem conv'),
    }
    assert list(times) == list(graphs)
    for name, (shape, base) in graphs.items():
        assert (f'| {name} | {shape} | {times[name] * 1e3:.1f} | '
                f'{times[name] / times[base]:.3f} |') in log


def test_benchmark_rejects_bad_sizes():
    proc = subprocess.run([sys.executable, 'tools/analysis/benchmark.py',
                           '--batch', '0'], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert '--batch must be positive, got 0' in proc.stderr


def test_build_model_from_config_uses_top_level_data_preprocessor():
    # the digits config sets mean/std in a top-level data_preprocessor, as
    # mmpretrain configs do; the Runner and init_model apply it to the model
    model = build_model_from_config(DIGITS)
    assert model.data_preprocessor.mean.flatten().tolist() == [127.5] * 3
    assert model.data_preprocessor.std.flatten().tolist() == [127.5] * 3


def test_vis_erf_by_object_size_on_the_shapes_data(tmp_path):
    """Fig. 8 per object size on the embedded shapes data: one row per
    checkpoint, a panel per COCO size (the shapes are small and medium)."""
    root = make_shapes_coco(tmp_path / 'shapes', num_train=1, num_val=3)
    a = save_checkpoint(DEMO, tmp_path / 'a.pth', 0.3)
    b = save_checkpoint(DEMO, tmp_path / 'b.pth', 5.0)
    ann = root / 'annotations/instances_val.json'
    out = run('tools/analysis/vis_erf.py', DEMO, a, b, '--images',
              root / 'val', '--ann-file', ann, '--labels', 'narrow', 'wide',
              '--window', 64, '--out', tmp_path / 'sizes.png')
    anns = json.loads(ann.read_text())['annotations']
    small = sum(x['area'] < 32**2 for x in anns)
    assert f'narrow: small: {small} objects' in out
    assert f'wide: medium: {len(anns) - small} objects' in out
    two = read_png(tmp_path / 'sizes.png')
    run('tools/analysis/vis_erf.py', DEMO, a, '--images', root / 'val',
        '--ann-file', ann, '--out', tmp_path / 'sizes1.png')
    assert read_png(tmp_path / 'sizes1.png').shape[0] < two.shape[0]


def test_benchmark_layer_nd_part(tmp_path):
    out = tmp_path / 'b.json'
    log = run('tools/analysis/benchmark.py', '--parts', 'layer-nd',
              '--rounds', 1, '--layer-time', 0, '--layer-batch', 1,
              '--out', out)
    layers = json.loads(out.read_text())['gmconv_nd_layers']
    assert list(layers) == ['1d stem', '1d body', '3d stem', '3d body']
    for shape, modes in layers.items():
        assert list(modes) == ['forward', 'forward + backward']
        names = list(modes['forward'])
        assert names[:6] == ['plain conv', 'S-GMConv', 'S-GMConv folded',
                             'D-GMConv grouped', 'D-GMConv per_image',
                             'D-GMConv patches']
        assert names[6] in {f'D-GMConv chosen ({p})'
                            for p in ('grouped', 'per_image')}
        for name in names:  # each row: medians and ratios to the plain conv
            cells = ''.join(f' {m[name] * 1e3:.1f} | '
                            f'{m[name] / m["plain conv"]:.3f} |'
                            for m in modes.values())
            assert f'| {shape} | {name} |{cells}' in log


def test_vis_erf_ann_file_must_be_the_images_split_and_sizes(tmp_path):
    """Annotations matched by file name only would draw the train split's
    objects on val images: another split, or another size, is an error."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'vis_erf', ROOT / 'tools/analysis/vis_erf.py')
    vis_erf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vis_erf)
    root = make_shapes_coco(tmp_path / 'shapes', num_train=2, num_val=2)
    val = sorted((root / 'val').glob('*.png'))
    ann = root / 'annotations/instances_val.json'
    objects = vis_erf.image_objects(ann, val, 64)
    assert len(objects) == 2 and all(objects)
    with pytest.raises(ValueError, match='is of split train, the images '
                       'of .* of split val'):
        vis_erf.image_objects(root / 'annotations/instances_train.json',
                              val, 64)
    # the val annotations, but an image of that name of another size
    other = tmp_path / 'val'
    other.mkdir()
    cv2.imwrite(str(other / val[0].name), np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(ValueError, match=f'{val[0].name} is 20x10, but'):
        vis_erf.image_objects(ann, [other / val[0].name], 64)
