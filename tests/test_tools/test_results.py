"""The paper's numbers in metafiles; collect_results and the seed workflow.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from metafiles import metafile_models

ROOT = Path(__file__).parents[2]
COLLECT = ROOT / 'tools/analysis/collect_results.py'

#: README table header -> (index of the config link in the row, metric)
README_COLUMNS = {
    'paper AP': (0, 'box AP'), 'AP50': (0, 'box AP50'),
    'AP75': (0, 'box AP75'), 'APs': (0, 'box APs'),
    'APm': (0, 'box APm'), 'APl': (0, 'box APl'),
    'paper C10': (0, 'Top 1 Accuracy'), 'paper C100': (1, 'Top 1 Accuracy'),
    'paper top-1': (0, 'Top 1 Accuracy'), 'paper top-5': (0, 'Top 5 Accuracy'),
}
READMES = ('configs/README.md', 'configs/classification/README.md')


def readme_paper_numbers():
    """``[(config path, metric, value)]`` from the README tables."""
    found = []
    for readme in READMES:
        base = (ROOT / readme).parent
        header = None
        for line in (ROOT / readme).read_text().splitlines():
            if not line.startswith('|'):
                header = None
                continue
            cells = [c.strip() for c in line.strip('|').split('|')]
            if header is None:
                header = cells
                continue
            links = re.findall(r'\]\(([^)]+\.py)\)', line)
            if not links:
                continue
            for title, cell in zip(header, cells):
                if title in README_COLUMNS and cell:
                    index, metric = README_COLUMNS[title]
                    config = (base / links[index]).resolve().relative_to(ROOT)
                    found.append((str(config), metric, float(cell)))
    return found


def test_readme_tables_equal_the_metafiles():
    models = {m['Config']: m for m in metafile_models()}
    readme = readme_paper_numbers()
    assert len(readme) > 100  # 28 detection rows' cells, 18 + 12 + 9 cls
    in_readme = set()
    for config, metric, value in readme:
        results = models[config]['Results']
        values = [r['Metrics'][metric] for r in results
                  if metric in r['Metrics']]
        assert values == [value], (config, metric, values, value)
        in_readme.add((config, metric))
    # and no metafile number is missing from the READMEs
    for config, model in models.items():
        for result in model.get('Results') or []:
            for metric in result['Metrics']:
                assert (config, metric) in in_readme, (config, metric)


def test_metafiles_are_a_model_index():
    """mim's reader (modelindex) loads them; configs exist, names unique."""
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(str(ROOT / 'model-index.yml'))
    names = [m.name for m in index.models]
    assert len(names) == len(set(names)) > 60
    for model in metafile_models():
        assert (ROOT / model['Config']).is_file(), model['Config']
        assert model['Name'] == Path(model['Config']).stem
    # every config of the paper's tables and of Fig. 6 is listed
    configs = {m['Config'] for m in metafile_models()}
    for folder in ('configs/gmconv', 'configs/classification/cifar',
                   'configs/classification/imagenet'):
        for path in (ROOT / folder).glob('*.py'):
            assert str(path.relative_to(ROOT)) in configs, path


def write_run(work_dir, config, metrics):
    work_dir.mkdir(parents=True)
    (work_dir / 'metrics.json').write_text(json.dumps(dict(
        config=config, checkpoint='x.pth', metrics=metrics)))


def collect(*args):
    proc = subprocess.run([sys.executable, str(COLLECT), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_collect_results_mean_spread_and_paper(tmp_path):
    # a seed sweep of one config (seed_*), and a single run of another
    cifar = 'configs/classification/cifar/resnet20_1xb128_cifar100.py'
    for seed, top1 in enumerate((66.0, 67.0, 68.5)):
        write_run(tmp_path / 'c100' / f'seed_{seed}', cifar,
                  {'accuracy/top1': top1, 'accuracy/top5': 90.0})
    write_run(tmp_path / 'det',
              'configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py',
              {'coco/bbox_mAP': 0.369, 'coco/bbox_mAP_s': 0.2})
    table = collect(tmp_path / 'c100', tmp_path / 'det')
    # mean 67.17, sample std 1.26; paper 67.03 (Table I); no paper top-5
    assert ('| resnet20_1xb128_cifar100.py | 3 | 67.17 ± 1.26 | 67.03 | '
            '+0.14 | 90.00 ± 0.00 |  |  |') in table
    # COCO AP from a fraction to %; one run: no spread
    row = next(r for r in table.splitlines() if 'faster-rcnn' in r)
    assert '| 36.90 | 37.00 | -0.10 |' in row
    assert '| 20.00 | 21.20 | -1.20 |' in row


def test_collect_results_missing_runs_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, str(COLLECT), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f'skipped {tmp_path}: holds no metrics.json' in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        f'FileNotFoundError: no metrics.json in {tmp_path}: test the runs')


def test_collect_results_takes_a_work_root_and_names_what_it_skips(
        tmp_path):
    """What tools/reproduce.py leaves in a work root: tested runs, a
    backbone run (no metrics.json), a seed not tested yet, its own table;
    a work dir given twice (and inside the root) is counted once."""
    root = tmp_path / 'paper'
    cifar = 'configs/classification/cifar/resnet20_1xb128_cifar100.py'
    for seed, top1 in ((0, 66.0), (1, 68.0)):
        write_run(root / 'resnet20_1xb128_cifar100' / f'seed_{seed}', cifar,
                  {'accuracy/top1': top1})
    (root / 'resnet20_1xb128_cifar100/seed_2').mkdir()  # training
    (root / 'resnet50_8xb32_in1k/seed_0').mkdir(parents=True)  # backbone
    (root / 'table1.md').write_text('| an earlier table |\n')
    run = root / 'resnet20_1xb128_cifar100'
    for args in ([root, run, run / 'seed_0'],
                 [f'{root}/*'],  # a glob the shell did not expand
                 [f'{root}/*', f'{root}/*']):
        proc = subprocess.run([sys.executable, str(COLLECT), *map(str, args)],
                              cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert '| resnet20_1xb128_cifar100.py | 2 | 67.00 ± 1.41 |' in \
            proc.stdout, args
        for path, why in ((run / 'seed_2', 'holds no metrics.json'),
                          (root / 'resnet50_8xb32_in1k/seed_0',
                           'holds no metrics.json'),
                          (root / 'table1.md', 'not a work dir (a file)')):
            assert proc.stderr.count(f'skipped {path}: {why}') == 1, (
                args, path)


def test_a_stale_metrics_json_is_neither_done_nor_counted(tmp_path):
    """A run trained further or again after its test: its metrics.json is
    of another checkpoint than last_checkpoint's, or older than it."""
    module = load_collect()
    cifar = 'configs/classification/cifar/resnet20_1xb128_cifar100.py'
    run = tmp_path / 'seed_0'
    write_run(run, cifar, {'accuracy/top1': 66.0})
    assert module.run_done(run) == (
        False, f'{run}/last_checkpoint does not exist')
    ckpt = run / 'epoch_2.pth'
    ckpt.write_bytes(b'checkpoint')
    (run / 'last_checkpoint').write_text(str(ckpt))
    (run / 'metrics.json').write_text(json.dumps(dict(
        config=cifar, checkpoint=str(run / 'epoch_1.pth'),
        metrics={'accuracy/top1': 66.0})))
    done, why = module.run_done(run)
    assert not done and f'tested on {run}/epoch_1.pth' in why
    assert f"last_checkpoint names {ckpt}" in why
    with pytest.raises(ValueError, match='test the run again'):
        module.load_run(run / 'metrics.json')
    # tested on the last checkpoint: done, and counted
    (run / 'metrics.json').write_text(json.dumps(dict(
        config=cifar, checkpoint=str(ckpt),
        metrics={'accuracy/top1': 66.0})))
    assert module.run_done(run) == (True, str(run / 'metrics.json'))
    assert module.load_run(run / 'metrics.json')[1] == {
        'Top 1 Accuracy': 66.0}
    # trained again (--overwrite) into the same epoch_2.pth after the test
    stamp = (run / 'metrics.json').stat().st_mtime
    os.utime(ckpt, (stamp + 60, stamp + 60))
    done, why = module.run_done(run)
    assert not done and f'older than {ckpt}' in why
    assert 'older than' in collect_stderr(run)
    # empty or partial: never done
    for text in ('', '{"config": "x.py", "metr'):
        (run / 'metrics.json').write_text(text)
        assert module.run_done(run)[0] is False
    proc = subprocess.run([sys.executable, str(COLLECT), str(run), '--done'],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert f'not done: {run}/metrics.json: it is not complete JSON' in \
        proc.stderr


def load_collect():
    spec = importlib.util.spec_from_file_location('collect_results', COLLECT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def collect_stderr(*args):
    return subprocess.run([sys.executable, str(COLLECT), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True).stderr


def test_collect_results_skips_and_names_broken_metrics(tmp_path):
    cifar = 'configs/classification/cifar/resnet20_1xb128_cifar100.py'
    write_run(tmp_path / 'c100/seed_0', cifar, {'accuracy/top1': 66.0})
    broken = {
        'seed_1': '',  # the write of a killed run, before it put anything
        'seed_2': '{"config": "%s", "metrics": {"accuracy/to' % cifar,
        'seed_3': json.dumps(dict(config=cifar, metrics={})),
        'seed_4': json.dumps(dict(config=cifar,
                                  metrics={'accuracy/top1': 'nan'})),
        'seed_5': json.dumps(dict(config=cifar,
                                  metrics={'accuracy/top1': float('nan')})),
        'seed_6': '[1, 2]',
        'seed_7': json.dumps(dict(metrics={'accuracy/top1': 60.0})),
    }
    for seed, text in broken.items():
        (tmp_path / 'c100' / seed).mkdir()
        (tmp_path / 'c100' / seed / 'metrics.json').write_text(text)
    proc = subprocess.run([sys.executable, str(COLLECT),
                           str(tmp_path / 'c100')], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # only seed_0 is counted: one run, no spread
    assert '| resnet20_1xb128_cifar100.py | 1 | 66.00 | 67.03 | -1.03 |' \
        in proc.stdout
    for seed, why in [('seed_1', 'it is empty'),
                      ('seed_2', 'it is not complete JSON'),
                      ('seed_3', 'it holds no metrics'),
                      ('seed_4', "metric 'accuracy/top1' is 'nan', not a "
                       'finite number'),
                      ('seed_5', "metric 'accuracy/top1' is nan"),
                      ('seed_6', 'it holds no object with "config"'),
                      ('seed_7', 'it names no config')]:
        path = tmp_path / 'c100' / seed / 'metrics.json'
        assert f'warning: {path}: {why}' in proc.stderr, seed
    assert proc.stderr.count('not counted') == len(broken)


def test_collect_results_with_no_usable_run_names_the_files(tmp_path):
    (tmp_path / 'metrics.json').write_text('{"config": "a.py", "metr')
    proc = subprocess.run([sys.executable, str(COLLECT), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'JSONDecodeError' not in proc.stderr.splitlines()[-1]
    assert proc.stderr.splitlines()[-1] == (
        f'ValueError: no usable metrics.json among {tmp_path}/metrics.json')
    assert f'{tmp_path}/metrics.json: it is not complete JSON' in proc.stderr


def test_collect_results_keeps_same_named_configs_apart(tmp_path):
    """Two configs called resnet20_1xb128_cifar100.py in different folders:
    two rows, labelled with their paths, not one mean over both."""
    ours = 'configs/classification/cifar/resnet20_1xb128_cifar100.py'
    mine = '/elsewhere/resnet20_1xb128_cifar100.py'
    write_run(tmp_path / 'a', ours, {'accuracy/top1': 66.0})
    write_run(tmp_path / 'b', mine, {'accuracy/top1': 10.0})
    write_run(tmp_path / 'c', str(ROOT / ours), {'accuracy/top1': 68.0})
    table = collect(tmp_path / 'a', tmp_path / 'b', tmp_path / 'c',
                    '--out', tmp_path / 'table.md')
    # the absolute path of our config is the same config as its relative one
    assert f'| {ours} | 2 | 67.00 ± 1.41 | 67.03 | -0.03 |' in table
    assert f'| {mine} | 1 | 10.00 | 67.03 | -57.03 |' in table
    assert (tmp_path / 'table.md').read_text() == table
    assert not list(tmp_path.glob('*.partial*'))


def test_train_seeds_tests_again_a_seed_with_a_broken_metrics_json(
        tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        'train_seeds', ROOT / 'tools/train_seeds.py')
    train_seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_seeds)
    commands = []
    monkeypatch.setattr(train_seeds, 'run',
                        lambda cmd, env: commands.append(cmd))
    config = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
    write_run(tmp_path / 'seed_0', str(config), {'accuracy/top1': 60.0})
    (tmp_path / 'seed_0/last_checkpoint').write_text('x.pth')
    # seed 2: tested, then trained again from scratch (--overwrite)
    write_run(tmp_path / 'seed_2', str(config), {'accuracy/top1': 60.0})
    (tmp_path / 'seed_2/x.pth').write_bytes(b'newer')
    (tmp_path / 'seed_2/last_checkpoint').write_text('x.pth')
    stamp = (tmp_path / 'seed_2/metrics.json').stat().st_mtime
    os.utime(tmp_path / 'seed_2/x.pth', (stamp + 60, stamp + 60))
    (tmp_path / 'seed_1').mkdir()
    (tmp_path / 'seed_1/metrics.json').write_text('{"config": "x.py"')
    (tmp_path / 'seed_1/last_checkpoint').write_text('epoch_1.pth')
    train_seeds.main([str(config), '--seeds', '0', '1', '2', '--work-dir',
                      str(tmp_path)])
    tools = [Path(cmd[1]).name for cmd in commands]
    assert tools == ['train.py', 'test.py'] * 2 + ['collect_results.py']
    for train, seed in ((commands[0], 'seed_1'), (commands[2], 'seed_2')):
        assert train[train.index('--work-dir') + 1] == str(tmp_path / seed)
        assert '--resume' in train  # continues a cut-short run


def test_results_table_imports_without_torch_or_toolboxes():
    blocked = ['torch', 'mmengine', 'mmcv', 'mmdet', 'mmpretrain',
               'mmgmconv']
    code = (
        'import importlib.util, sys\n'
        f'for name in {blocked!r}:\n'
        '    sys.modules[name] = None  # importing it raises ImportError\n'
        'spec = importlib.util.spec_from_file_location(\n'
        f'    "c", {str(COLLECT)!r})\n'
        'mod = importlib.util.module_from_spec(spec)\n'
        'spec.loader.exec_module(mod)\n'
        'papers = mod.paper_numbers()\n'
        'print(papers["resnet50-gmconv_8xb32_in1k.py"]["Top 1 Accuracy"])\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == '76.4'


@pytest.mark.slow
def test_train_seeds_runs_each_seed_then_collects(tmp_path):
    """The seeds -> test -> collect path on a 1-epoch digits ResNet-20."""
    config = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
    work = tmp_path / 'sweep'
    proc = subprocess.run(
        [sys.executable, 'tools/train_seeds.py', str(config), '--seeds', '0',
         '1', '--work-dir', str(work), '--deterministic', '--cfg-options',
         'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.dataset.indices=64',
         'val_dataloader.dataset.indices=64',
         'test_dataloader.dataset.indices=64'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    runs = [json.loads((work / f'seed_{s}/metrics.json').read_text())
            for s in (0, 1)]
    top1 = [r['metrics']['accuracy/top1'] for r in runs]
    # the seed reached the runs: their trained weights differ
    weights = [torch.load(r['checkpoint'], map_location='cpu',
                          weights_only=False)['state_dict'] for r in runs]
    key = 'backbone.layer1.0.conv1.weight'
    assert not torch.equal(weights[0][key], weights[1][key])
    row = next(r for r in proc.stdout.splitlines()
               if r.startswith('| resnet20-gmconv_1xb64_digits.py'))
    mean = sum(top1) / 2
    assert row.startswith(f'| resnet20-gmconv_1xb64_digits.py | 2 | '
                          f'{mean:.2f} ± ')
