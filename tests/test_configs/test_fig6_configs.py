"""Fig. 6 configs: S-GMConv everywhere, starting at the sigma they name."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmgmconv.apis import build_model_from_config
from mmgmconv.ops import DGMConv, SGMConv

CIFAR = Path(__file__).parents[2] / 'configs/classification/cifar'
FIG6 = sorted(CIFAR.glob('*-sgmconv-sigma*_1xb128_cifar*.py'))


def test_every_model_and_dataset_has_sigma_1_and_10():
    assert {p.name for p in FIG6} == {
        f'{model}-sgmconv-sigma{sigma}_1xb128_{data}.py'
        for model in ('resnet20', 'resnet56', 'resnet18')
        for sigma in (1, 10) for data in ('cifar10', 'cifar100')}


@pytest.mark.slow  # twelve configs loaded twice: seconds
@pytest.mark.parametrize('path', FIG6, ids=lambda p: p.stem)
def test_config_says_and_builds_its_initial_sigma(path):
    sigma = float(path.stem.split('sigma')[1].split('_')[0])
    cfg = Config.fromfile(path)
    parts = cfg.model.backbone.gmconv_cfg
    for part in ('stem', 'body'):
        assert parts[part]['type'] == 'SGMConv'
        assert parts[part]['sigma_init'] == sigma
    base = Config.fromfile(CIFAR / path.name.replace(f'-sigma{sigma:g}', ''))
    assert cfg.model.head == base.model.head
    assert cfg.train_dataloader == base.train_dataloader
    if 'resnet20' in path.name:  # build the smallest: every sigma starts so
        backbone = build_model_from_config(cfg).backbone
        sigmas = [m.sigma.item() for m in backbone.modules()
                  if isinstance(m, SGMConv) and m.sigma is not None]
        assert len(sigmas) == 19 and set(sigmas) == {sigma}
        assert not any(isinstance(m, DGMConv) for m in backbone.modules())


@pytest.mark.slow  # a subprocess run
def test_plot_fig6_from_collected_seed_runs(tmp_path):
    """Fig. 6 from collect_results' table: mean ± std over seeds per
    initial sigma, StdConv as "None"; other configs' rows are skipped."""
    import json
    import subprocess
    import sys
    root = Path(__file__).parents[2]
    top1 = {'resnet20_1xb128_cifar10.py': (91.0, 92.0, 93.0),
            'resnet20-sgmconv-sigma1_1xb128_cifar10.py': (92.0, 92.0, 92.0),
            'resnet20-sgmconv_1xb128_cifar10.py': (91.5, 91.7, 91.9),
            'resnet20-sgmconv-sigma10_1xb128_cifar10.py': (90.0, 91.0, 95.0),
            'resnet56-sgmconv_1xb128_cifar100.py': (70.0, 71.0, 72.0),
            'resnet50_8xb32_in1k.py': (75.0, ) * 3}
    dirs = []
    for config, values in top1.items():
        for seed, value in enumerate(values):
            run = tmp_path / config / f'seed_{seed}'
            run.mkdir(parents=True)
            (run / 'metrics.json').write_text(json.dumps(dict(
                config=config, checkpoint='x.pth',
                metrics={'accuracy/top1': value})))
        dirs.append(tmp_path / config)

    def tool(*args):
        proc = subprocess.run([sys.executable, *map(str, args)], cwd=root,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    results = tmp_path / 'results.md'
    tool('tools/analysis/collect_results.py', *dirs, '--out', results)
    out = tool('tools/analysis/plot_fig6.py', results, '--out',
               tmp_path / 'fig6.png')
    assert 'resnet20 cifar10 sigma None: 92.00 ± 1.00 (3 runs)' in out
    assert 'resnet20 cifar10 sigma 1: 92.00 ± 0.00 (3 runs)' in out
    assert 'resnet20 cifar10 sigma 5: 91.70 ± 0.20 (3 runs)' in out
    assert 'resnet20 cifar10 sigma 10: 92.00 ± 2.65 (3 runs)' in out
    assert 'resnet56 cifar100 sigma 5: 71.00 ± 1.00 (3 runs)' in out
    assert '2 panel(s)' in out and 'resnet50' not in out
    assert (tmp_path / 'fig6.png').stat().st_size > 0
    bad = tmp_path / 'bad.md'
    bad.write_text('no table\n')
    proc = subprocess.run([sys.executable, 'tools/analysis/plot_fig6.py',
                           str(bad)], cwd=root, capture_output=True,
                          text=True)
    assert proc.returncode != 0 and 'has no markdown table' in proc.stderr


def test_plot_fig6_takes_a_row_labelled_with_its_path(tmp_path, capsys):
    """collect_results labels a row with its path where two folders hold a
    config of that name: the point is plotted, not dropped; two rows for
    one point are an error; rows left out are named."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'plot_fig6', CIFAR.parents[2] / 'tools/analysis/plot_fig6.py')
    plot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot)
    head = ('| config | runs | Top 1 Accuracy (mean ± std) | paper | diff |\n'
            '|---|---|---|---|---|\n')
    results = tmp_path / 'results.md'
    results.write_text(
        head + '| configs/classification/cifar/resnet20_1xb128_cifar10.py '
        '| 3 | 92.00 ± 1.00 | 91.25 | +0.75 |\n'
        '| resnet50_8xb32_in1k.py | 1 | 75.00 | 76.1 | -1.1 |\n')
    points = plot.read_results(results)
    assert points == {('cifar10', 'resnet20'): {'None': (92.0, 1.0, '3')}}
    assert ('warning: row resnet50_8xb32_in1k.py left out: not a Fig. 6 '
            'config') in capsys.readouterr().err
    results.write_text(
        head + '| configs/classification/cifar/resnet20_1xb128_cifar10.py '
        '| 3 | 92.00 ± 1.00 | | |\n'
        '| /mine/resnet20_1xb128_cifar10.py | 1 | 10.00 | | |\n')
    with pytest.raises(ValueError, match='/mine/resnet20_1xb128_cifar10.py '
                       'are both resnet20 on cifar10 at initial sigma None'):
        plot.read_results(results)
