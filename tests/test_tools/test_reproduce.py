"""tools/reproduce.py (the steps from nothing to a table) and collect_results'
Table V layout; the miniature chain run end to end is
tests/test_tools/test_repro_mini.py."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def load_tool(path, name):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


collect = load_tool('tools/analysis/collect_results.py', 'collect_results')


def steps(*args):
    proc = subprocess.run([sys.executable, 'tools/reproduce.py', *args],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [line for line in proc.stdout.splitlines()
            if line and not line.startswith(('#', 'set -e'))]


def test_table_v_trains_both_backbones_then_each_row_from_its_own():
    lines = steps('V', '--seeds', '0', '1')
    # step 1: the plain and the GMConv ImageNet ResNet-50, same recipe
    assert lines[0].startswith('bash tools/dist_train.sh configs/'
                               'classification/imagenet/resnet50_8xb32_in1k'
                               '.py 8 ')
    assert lines[1].endswith('checkpoints/resnet50_in1k.pth')
    assert 'resnet50-gmconv_8xb32_in1k.py 8 ' in lines[2]
    assert lines[3].endswith('checkpoints/resnet50-gmconv_in1k.pth')
    trains = [line for line in lines if 'configs/gmconv/' in line
              and 'dist_train.sh' in line]
    tests = [line for line in lines if 'dist_test.sh' in line]
    assert len(trains) == len(tests) == 14 * 2
    for line in trains:
        config = line.split()[2]
        ckpt = ('checkpoints/resnet50-gmconv_in1k.pth' if '-gmconv' in
                config else 'checkpoints/resnet50_in1k.pth')
        assert f'model.backbone.init_cfg.checkpoint={ckpt} ' in line, line
        assert line.split('--work-dir ')[1].split()[0].endswith(
            ('/seed_0', '/seed_1'))
    assert lines[-1].startswith('python tools/analysis/collect_results.py')
    assert '--table V' in lines[-1]


def test_slurm_and_single_gpu_launchers():
    lines = steps('III', '--slurm', 'part', '--gpus', '16', '--seeds', '0')
    assert lines[0].startswith('GPUS=16 bash tools/slurm_train.sh part '
                               'resnet50_8xb32_in1k ')
    assert sum('configs/gmconv/' in line for line in lines
               if 'slurm_train.sh' in line) == 4  # 2 rows x 2 detectors
    lines = steps('I', '--seeds', '0')
    assert lines[0].startswith('python tools/train.py configs/'
                               'classification/cifar/resnet20_1xb128_'
                               'cifar10.py --work-dir work_dirs/table1/')
    assert sum('tools/train.py' in line for line in lines) == 18
    lines = steps('fig6', '--seeds', '0', '1', '2')
    assert lines[-1].startswith('python tools/analysis/plot_fig6.py')


def test_bad_arguments_are_clear_errors():
    for args, message in ((['V', '--rows', 'nothing'], 'matches no config'),
                          (['mini', '--gpus', '2'], 'one CPU process'),
                          (['V', '--seeds', '1', '1'], 'distinct')):
        proc = subprocess.run([sys.executable, 'tools/reproduce.py', *args],
                              cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode != 0 and message in proc.stderr, args


ROWS = {
    'r50': ('GMConv', 'None (Baseline)'),
    'r50-gmconv-stem-l1': ('GMConv', 'Stem L1'),
    'r50-gmconv-stem-l1-l2': ('GMConv', 'Stem L1-L2'),
    'r50-gmconv-stem-l1-l3': ('GMConv', 'Stem L1-L3'),
    'r50-gmconv-stem-l1-l4': ('GMConv', 'Stem L1-L4'),
    'r50-dconv-c3-c5': ('DCN (L2-L4)', 'None'),
    'r50-gmconv-stem-l1-dconv-c3-c5': ('GMConv-DCN', 'Stem L1'),
}


@pytest.mark.parametrize('variant', ROWS)
def test_every_table_v_config_has_its_row(variant):
    for det, name in (('faster', 'Faster R-CNN'),
                      ('cascade', 'Cascade R-CNN')):
        coco = f'{det}-rcnn_{variant}_fpn_1x_coco.py'
        mini = f'{det}-rcnn_{variant.replace("r50", "r50-tiny")}' \
            '_fpn_shapes.py'
        assert (ROOT / 'configs/gmconv' / coco).is_file()
        assert (ROOT / 'configs/mini' / mini).is_file()
        assert collect.table_v_cell(coco) == (name, ROWS[variant])
        assert collect.table_v_cell(mini) == (name, ROWS[variant])
    assert collect.table_v_cell('resnet50_8xb32_in1k.py') is None


def test_table_v_layout_mean_std_beside_the_paper():
    runs = [('faster-rcnn_r50-gmconv-stem-l1_fpn_1x_coco.py',
             {'box AP': ap, 'box APs': 21.0}) for ap in (37.0, 38.0)]
    runs.append(('cascade-rcnn_r50_fpn_1x_coco.py', {'box AP': 40.0}))
    table = collect.table_v(runs, collect.paper_numbers()).splitlines()
    assert table[0].startswith('| Method | Usage of GMConv | Faster R-CNN '
                               'AP | Faster R-CNN APs |')
    assert len(table[0].split("|")) == 1 + 2 + 8 + 1
    stem_l1 = table[3].split(' | ')
    # mean ± sample std (runs) / paper's Table V
    assert stem_l1[2] == '37.5 ± 0.7 (2) / 37.9'
    assert stem_l1[3] == '21.0 ± 0.0 (2) / 21.7'
    assert stem_l1[4] == '/ 42.0'  # no run: the paper's number alone
    baseline = table[2].split(' | ')
    assert baseline[6] == '40.0 (1) / 40.1'
    with pytest.raises(ValueError, match='no run of a Table V config'):
        collect.table_v([('resnet50_8xb32_in1k.py', {})], {})


def test_table_v_files_a_run_only_on_an_exact_config_name(capsys):
    """A ResNet-101 or a -stem-l1-l5 variant is no row of Table V: left
    out with a warning, not filed as the baseline or as Stem L1."""
    for name in ('faster-rcnn_r101_fpn_1x_coco.py',
                 'faster-rcnn_r50-gmconv-stem-l1-l5_fpn_1x_coco.py',
                 'faster-rcnn_r50_fpn_2x_coco.py',
                 'retina-rcnn_r50_fpn_1x_coco.py'):
        assert collect.table_v_cell(name) is None, name
    runs = [('configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py',
             {'box AP': 37.0}),
            ('my/faster-rcnn_r101_fpn_1x_coco.py', {'box AP': 39.0})]
    table = collect.table_v(runs, {})
    assert table.splitlines()[2].split(' | ')[2] == '37.0 (1)'
    assert '39.0' not in table
    assert ('warning: a run of my/faster-rcnn_r101_fpn_1x_coco.py is left '
            'out: not one of Table V\'s configs') in capsys.readouterr().err


def test_coco_minus_one_is_no_score(tmp_path):
    """pycocotools gives -1 where no object has that size: not -100 AP."""
    run = tmp_path / 'metrics.json'
    run.write_text(json.dumps(dict(
        config='configs/mini/faster-rcnn_r50-tiny_fpn_shapes.py',
        metrics={'coco/bbox_mAP': 0.25, 'coco/bbox_mAP_l': -1.0})))
    assert collect.load_run(run) == (
        'configs/mini/faster-rcnn_r50-tiny_fpn_shapes.py', {'box AP': 25.0})
