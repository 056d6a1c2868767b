"""tools/reproduce.py (the steps from nothing to a table) and collect_results'
Table V layout; the miniature chain run end to end is
tests/test_tools/test_repro_mini.py."""
import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).parents[2]


def load_tool(path, name):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


collect = load_tool('tools/analysis/collect_results.py', 'collect_results')


reproduce = load_tool('tools/reproduce.py', 'reproduce')


def script(*args):
    """What ``tools/reproduce.py ARGS`` prints (in this process: fast)."""
    return reproduce.table_steps(reproduce.parse_args(list(args))).script()


def steps(*args):
    """The commands of the printed script, without the guards around them
    (``if ! DONE; then`` ... ``fi``) and the comments."""
    return [line.strip() for line in script(*args).splitlines()
            if line.strip() and not line.startswith(('#', 'set -e', 'if ',
                                                      'fi'))]


def comments(text):
    """The script's comments as one line (they are wrapped)."""
    return ' '.join(line[2:] for line in text.splitlines()
                    if line.startswith('# '))


def trains(lines):
    return [line for line in lines if '_train.sh' in line
            or 'tools/train.py' in line]


def test_table_v_trains_both_backbones_then_each_row_from_its_own():
    lines = steps('V', '--seeds', '0', '1')
    # step 1: the plain and the GMConv ImageNet ResNet-50, same recipe,
    # the same runs as Table II's seed 0, copied into place whole
    assert lines[0].startswith(
        'bash tools/dist_train.sh configs/classification/imagenet/'
        'resnet50_8xb32_in1k.py 8 --work-dir work_dirs/paper/'
        'resnet50_8xb32_in1k/seed_0 --resume ')
    assert lines[1].endswith('checkpoints/resnet50_in1k.pth.partial '
                             'checkpoints/resnet50_in1k.pth')
    assert 'resnet50-gmconv_8xb32_in1k.py 8 ' in lines[2]
    assert lines[3].endswith('checkpoints/resnet50-gmconv_in1k.pth')
    det_trains = [line for line in lines if 'configs/gmconv/' in line
                  and 'dist_train.sh' in line]
    tests = [line for line in lines if 'dist_test.sh' in line]
    assert len(det_trains) == len(tests) == 14 * 2
    for line in det_trains:
        config = line.split()[2]
        ckpt = ('checkpoints/resnet50-gmconv_in1k.pth' if '-gmconv' in
                config else 'checkpoints/resnet50_in1k.pth')
        assert f'model.backbone.init_cfg.checkpoint={ckpt} ' in line, line
        work_dir = line.split('--work-dir ')[1].split()[0]
        assert work_dir in (f'work_dirs/paper/{Path(config).stem}/seed_{s}'
                            for s in (0, 1))
        assert ' --resume ' in line  # a run cut short goes on
    assert lines[-1].startswith('python tools/analysis/collect_results.py')
    assert lines[-1].endswith('--table V --out work_dirs/paper/table5.md')


def test_the_script_skips_what_is_done():
    text = script('III', '--seeds', '0', '--rows', 'faster-rcnn_r50_fpn')
    assert ('if ! [ -f checkpoints/resnet50_in1k.pth ]; then\n  bash '
            'tools/dist_train.sh') in text
    run = 'work_dirs/paper/faster-rcnn_r50_fpn_1x_coco/seed_0'
    assert (f'if ! python tools/analysis/collect_results.py {run} --done; '
            'then\n  bash tools/dist_train.sh') in text
    assert f'"$(cat {run}/last_checkpoint)" 8 --work-dir {run}\nfi' in text


def test_a_run_serving_several_tables_is_trained_once():
    """One work dir per config: the same command, the same run."""
    v, iii = set(trains(steps('V'))), set(trains(steps('III')))
    assert iii < v and len(iii) == 2 + 4 * 3
    ii, iv = set(trains(steps('II'))), set(trains(steps('IV')))
    assert len(ii & iv) == 6 * 3  # ResNet-18/50, AlexNet: StdConv, GMConv
    i, fig6 = set(trains(steps('I'))), set(trains(steps('fig6')))
    assert len(i & fig6) == 12 * 3  # StdConv and S-GMConv (sigma 5)
    # the backbones of Table V are Table II's seed 0 runs
    assert {line for line in v if 'imagenet' in line} < ii


@pytest.mark.parametrize('gpus,per_gpu', [(4, (64, 4)), (16, (16, 1))])
def test_other_gpu_counts_keep_the_paper_total_batch(gpus, per_gpu):
    text = script('V', '--gpus', str(gpus), '--seeds', '0')
    lines = trains(steps('V', '--gpus', str(gpus), '--seeds', '0'))
    assert len(lines) == 2 + 14
    for line in lines:
        size = per_gpu[0] if 'imagenet' in line else per_gpu[1]
        assert '.sh configs/' in line and f' {gpus} --work-dir' in line
        assert line.endswith(f'train_dataloader.batch_size={size}'), line
        assert '--auto-scale-lr' not in line
    assert (f'{gpus} GPUs x {per_gpu[1]} images = 16, the paper\'s 8 x 2 '
            '= 16 images at lr 0.02 (same total batch and lr;') in \
        comments(text)
    assert comments(text).count('the paper\'s 8 x') == 2 + 14


def test_a_gpu_count_that_does_not_divide_scales_lr_and_says_so():
    text = script('V', '--gpus', '3', '--seeds', '0')
    for line in trains(steps('V', '--gpus', '3', '--seeds', '0')):
        assert ' --resume --auto-scale-lr ' in line
        assert 'batch_size' not in line
    assert ('3 GPUs x 2 images = 6, not the paper\'s 8 x 2 = 16 images at '
            'lr 0.02: 16 does not divide over 3 GPUs, so lr is scaled by '
            '6/16 to 0.0075') in comments(text)


def test_slurm_trains_and_tests_through_srun(tmp_path):
    lines = steps('III', '--slurm', 'part', '--gpus', '16', '--seeds', '0')
    assert lines[0].startswith('GPUS=16 bash tools/slurm_train.sh part '
                               'resnet50_8xb32_in1k ')
    assert sum('configs/gmconv/' in line for line in lines
               if 'slurm_train.sh' in line) == 4  # 2 rows x 2 detectors
    tests = [line for line in lines if 'test' in line.split()[2]]
    assert len(tests) == 4 and all(
        line.startswith('GPUS=16 bash tools/slurm_test.sh part ')
        for line in tests)
    assert not any('dist_' in line for line in lines)
    # slurm_test.sh hands the test to srun (a stand-in records its call)
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'srun').write_text('#!/bin/sh\necho "srun $*"\n')
    (fake / 'srun').chmod(0o755)
    env = dict(os.environ, PATH=f'{fake}:{os.environ["PATH"]}', GPUS='16')
    proc = subprocess.run(
        ['bash', 'tools/slurm_test.sh', 'part', 'job', 'my config.py',
         'w/epoch_12.pth', '--work-dir', 'w'], cwd=ROOT, env=env,
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('srun -p part --job-name=job ')
    assert '--ntasks=16 ' in proc.stdout
    assert proc.stdout.rstrip().endswith(
        'tools/test.py my config.py w/epoch_12.pth --launcher=slurm '
        '--work-dir w')


def test_single_gpu_and_figure_targets():
    lines = steps('I', '--seeds', '0')
    assert lines[0].startswith('python tools/train.py configs/'
                               'classification/cifar/resnet20_1xb128_'
                               'cifar10.py --work-dir work_dirs/paper/')
    assert sum('tools/train.py' in line for line in lines) == 18
    lines = steps('fig6', '--seeds', '0', '1', '2')
    assert lines[-1].startswith('python tools/analysis/plot_fig6.py')
    # Fig. 7 from the S-GMConv ImageNet networks, Fig. 8 from four Table V
    # Faster R-CNNs, each drawn from the checkpoint its run ended with
    lines = steps('fig7', '--seeds', '0')
    draws = [line for line in lines if 'vis_rf_masks.py' in line]
    assert [line.split()[2] for line in draws] == [
        f'configs/classification/imagenet/{n}-sgmconv_8xb32_in1k.py'
        for n in ('resnet18', 'resnet50', 'alexnet')]
    assert all('$(cat work_dirs/paper/' in line for line in draws)
    lines = steps('fig8', '--seeds', '0')
    draw = lines[-1]
    assert draw.startswith('python tools/analysis/vis_erf.py')
    for row in ('r50', 'r50-gmconv-stem-l1-l4', 'r50-dconv-c3-c5',
                'r50-gmconv-stem-l1-dconv-c3-c5'):
        assert (f'$(cat work_dirs/paper/faster-rcnn_{row}_fpn_1x_coco/'
                'seed_0/last_checkpoint)') in draw
    assert '--labels StdConv GMConv DCN GMConv-DCN' in draw


def test_the_tool_prints_the_script():
    proc = subprocess.run([sys.executable, 'tools/reproduce.py', 'III',
                           '--seeds', '0'], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == script('III', '--seeds', '0') + '\n'


def test_bad_arguments_are_clear_errors():
    for args, message in ((['V', '--rows', 'nothing'], 'matches no config'),
                          (['mini', '--gpus', '2'], 'one CPU process'),
                          (['V', '--seeds', '1', '1'], 'distinct'),
                          (['V', '--run', '--check'], 'not allowed with'),
                          (['V', '--cfg-options', 'a'], 'KEY=VALUE')):
        proc = subprocess.run([sys.executable, 'tools/reproduce.py', *args],
                              cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode != 0 and message in proc.stderr, args


@pytest.mark.slow  # generates the shapes dataset in a subprocess
def test_run_quotes_every_path(tmp_path, monkeypatch):
    """--run from an interpreter whose path has a space (a venv in
    "My Projects"): the mini chain's first step runs, the second time it
    is skipped as done."""
    spaced = tmp_path / 'my env' / 'python'
    spaced.parent.mkdir()
    spaced.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    spaced.chmod(0o755)
    monkeypatch.setattr(sys, 'executable', str(spaced))
    monkeypatch.setenv('PYTHONPATH', str(ROOT))
    work = tmp_path / 'work dir'
    work.mkdir()
    monkeypatch.chdir(work)
    args = reproduce.parse_args(['mini', '--run', '--seeds', '0'])
    steps = reproduce.table_steps(args)
    steps.steps = steps.steps[:2]  # 0. the shapes data set
    assert steps.steps[1][1][0].startswith(f"'{spaced}' ")
    steps.run()
    assert (work / 'data/shapes_coco/annotations/instances_val.json').is_file()
    steps.run()  # done: skipped


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


def preflight(table, *args):
    """``tools/reproduce.py TABLE --check ARGS``: (exit status, output)."""
    parsed = reproduce.parse_args([table, '--check', *args])
    with pytest.raises(SystemExit) as stop:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            reproduce.main([table, '--check', *args])
    assert parsed.check
    return stop.value.code, out.getvalue()


@pytest.mark.slow  # builds four ResNet-50 models: seconds
def test_preflight_on_a_fake_data_tree(tmp_path, monkeypatch):
    """--check with COCO and part of ImageNet laid out (empty files):
    every config builds, what is missing is listed where it is expected,
    the backbones come from step 1, batch and lr against the paper's,
    disk with the configs' retention; NO-GO for data and GPUs."""
    monkeypatch.chdir(tmp_path)
    for folder in ('data/coco/train2017', 'data/coco/val2017',
                   'data/coco/annotations', 'data/imagenet/train',
                   'data/imagenet/meta'):
        (tmp_path / folder).mkdir(parents=True)
    for split in ('train', 'val'):
        (tmp_path / f'data/coco/annotations/instances_{split}2017.json'
         ).write_text('{}')
    rows = ['--seeds', '0', '1', '--gpus', '4', '--rows',
            'faster-rcnn_r50_fpn', 'faster-rcnn_r50-gmconv-stem-l1_fpn']
    code, out = preflight('V', *rows)
    assert code == 1
    for config in ('classification/imagenet/resnet50_8xb32_in1k',
                   'classification/imagenet/resnet50-gmconv_8xb32_in1k',
                   'gmconv/faster-rcnn_r50_fpn_1x_coco',
                   'gmconv/faster-rcnn_r50-gmconv-stem-l1_fpn_1x_coco'):
        assert f'   configs/{config}.py: builds; ' in out
    # the configs' retention: 90 ImageNet epochs, 3 kept and the best
    assert ('resnet50_8xb32_in1k.py: builds; checkpoints: 90 saved, 4 '
            'kept') in out
    assert 'missing: data/imagenet/val (val_dataloader.dataset.split of 2 ' \
        'config(s)' in out
    assert "mmpretrain's ImageNet guide" in out
    assert 'data/coco' not in out.split('2. data')[1].split('3. ')[0]
    assert ('checkpoints/resnet50-gmconv_in1k.pth: made by the backbone '
            'step from configs/classification/imagenet/'
            'resnet50-gmconv_8xb32_in1k.py') in out
    assert ('resnet50_8xb32_in1k: paper 8 x 32 = 256 at lr 0.1; this run '
            '4 x 64 = 256 at lr 0.1') in out
    assert ('faster-rcnn_r50_fpn_1x_coco: paper 8 x 2 = 16 at lr 0.02; this '
            'run 4 x 4 = 16 at lr 0.02') in out
    assert 'the runs keep about ' in out
    nogo = out.split('NO-GO:\n')[1].splitlines()
    assert nogo[0] == ' - data: data/imagenet/val does not exist'
    assert nogo[1].startswith(' - GPUs: each run takes 4, ')
    assert len(nogo) == 2
    # ImageNet complete, the jobs on a slurm partition: GO
    (tmp_path / 'data/imagenet/val').mkdir()
    code, out = preflight('V', *rows, '--slurm', 'part')
    assert code == 0 and out.endswith('GO: every check passed\n'), out
    # a detection config told to start from a checkpoint no step makes
    code, out = preflight('III', '--rows', 'faster-rcnn_r50_fpn',
                          '--slurm', 'part', '--cfg-options',
                          'load_from=nowhere.pth')
    assert code == 1
    assert ('configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py: load_from '
            'nowhere.pth does not exist and no earlier step makes it') in out


def test_imagenet_and_coco_runs_keep_a_bounded_number_of_checkpoints():
    """Stated once (configs/_base_/checkpoint_retention.py) and inherited
    by every ImageNet and COCO config: the last few and the best."""
    check = load_tool('tools/reproduce_check.py', 'reproduce_check')
    retention = Config.fromfile(
        ROOT / 'configs/_base_/checkpoint_retention.py').checkpoint_retention
    assert retention.max_keep_ckpts >= 1 and retention.save_best
    configs = sorted((ROOT / 'configs/classification/imagenet').glob(
        '*.py')) + sorted((ROOT / 'configs/gmconv').glob('*.py'))
    for path in configs:
        text = path.read_text()
        assert 'max_keep_ckpts' not in text and 'save_best' not in text
    for path in configs[::4]:  # a few of them loaded: seconds each
        cfg = Config.fromfile(path)
        hook = cfg.default_hooks.checkpoint
        assert hook.type == 'CheckpointHook', path
        assert dict(type='CrashSafeCheckpointHook') in cfg.custom_hooks, path
        assert hook.max_keep_ckpts == retention.max_keep_ckpts, path
        assert hook.save_best == retention.save_best, path
        saved, kept = check.kept_checkpoints(cfg)
        assert kept == retention.max_keep_ckpts + 1 < saved, path


DOC_FILES = (['README.md', 'configs/README.md']
             + [str(p.relative_to(ROOT)) for p in sorted(
                 ROOT.glob('configs/*/README.md'))]
             + [str(p.relative_to(ROOT)) for p in sorted(
                 (ROOT / 'docs').rglob('*.md')) if '_build' not in p.parts])
CHECKPOINT_REF = re.compile(
    r'work_dirs/(?:paper/)?([\w.{},*-]+)/(?:seed_\w+/)?(epoch|iter)_(\w+)'
    r'\.pth')


def config_stems():
    return {p.stem: p for p in (ROOT / 'configs').rglob('*.py')
            if '_base_' not in p.parts}


def makefile_work_dirs():
    """``{work dir name: config}`` of the Makefile's demo targets."""
    text = (ROOT / 'Makefile').read_text()
    dirs = dict(re.findall(r'^(\w+)_DIR := work_dirs/(\S+)$', text, re.M))
    cfgs = dict(re.findall(r'^(\w+)_CFG := (\S+)$', text, re.M))
    return {name: ROOT / cfgs[key] for key, name in dirs.items()}


def schedule_length(path):
    loop = Config.fromfile(path).train_cfg
    return loop.get('max_epochs') or loop.get('max_iters')


def test_documented_checkpoints_are_ones_the_configs_write():
    """Every `work_dirs/.../epoch_N.pth` in the docs that names a config
    (or a Makefile target's work dir) is its last checkpoint, the one
    every retention keeps; `work_dirs/paper/X` is a config's work dir or a
    reproduce.py output."""
    stems, targets = config_stems(), makefile_work_dirs()
    outputs = re.compile(r'(table\d|tableN)\.md|fig6\.(md|png)|fig7|'
                         r'fig8\.png|resnet\*_1xb128_cifar\*|NAME')
    problems, checked = [], 0
    for doc in DOC_FILES:
        text = (ROOT / doc).read_text()
        for name, unit, number in CHECKPOINT_REF.findall(text):
            if name.isupper() or number.isupper():
                continue  # a placeholder
            config = stems.get(name) or targets.get(name)
            if config is None:
                problems.append(f'{doc}: work_dirs/{name} is no config\'s '
                                'work dir')
                continue
            checked += 1
            if int(number) != schedule_length(config):
                problems.append(
                    f'{doc}: {name}/{unit}_{number}.pth: {config.name} '
                    f'trains {schedule_length(config)} {unit}s')
        for name in re.findall(r'work_dirs/paper/([^\s`/]+)', text):
            names = re.sub(r'\{(.*)\}', lambda m: m.group(1), name)
            for part in (re.findall(r'\{([^}]*)\}', name) or [None]):
                candidates = ([name.replace('{' + part + '}', p)
                               for p in part.split(',')] if part
                              else [names])
                for candidate in candidates:
                    if candidate not in stems and not outputs.fullmatch(
                            candidate):
                        problems.append(f'{doc}: work_dirs/paper/'
                                        f'{candidate} is neither a '
                                        'config\'s work dir nor an output')
    assert checked >= 5
    assert not problems, '\n'.join(problems)


def test_documented_reproduce_commands_parse():
    """Every `python tools/reproduce.py ...` of the docs is a valid call."""
    found = 0
    for doc in DOC_FILES + ['Makefile']:
        for line in (ROOT / doc).read_text().splitlines():
            for call in re.findall(r'tools/reproduce\.py ([^`>#|)\n]*)',
                                   line):
                words = call.replace('\\', '').split()
                if not words or words[0] in ('TABLE', '...'):
                    continue
                if any(w.isupper() and len(w) > 3 for w in words):
                    continue  # a placeholder
                found += 1
                reproduce.parse_args(words)
    assert found >= 8


@pytest.mark.parametrize('row', [
    'faster-rcnn_r50', 'faster-rcnn_r50-gmconv-stem-l1',
    'cascade-rcnn_r50-gmconv-stem-l1-dconv-c3-c5'])
def test_the_miniature_says_where_it_trains_other_layers(row):
    """Each miniature has its Table V row's GMConv stages; it freezes the
    layers Table V freezes, or configs/mini/README.md says why not."""
    coco = Config.fromfile(ROOT / f'configs/gmconv/{row}_fpn_1x_coco.py')
    mini = Config.fromfile(
        ROOT / 'configs/mini/{}_fpn_shapes.py'.format(
            row.replace('r50', 'r50-tiny')))
    stages = coco.model.backbone.get('gmconv_stages', (False, ) * 5)
    assert tuple(mini.model.backbone.gmconv_stages) == tuple(stages)
    assert coco.model.backbone.frozen_stages == 1
    if mini.model.backbone.frozen_stages != 1:
        readme = (ROOT / 'configs/mini/README.md').read_text()
        assert '**What the miniature trains differs from Table V.**' in \
            readme and f'`frozen_stages={mini.model.backbone.frozen_stages}`' \
            in readme
