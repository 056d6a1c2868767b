"""Do GMConv's sigmas learn? Train a config under several optimizer settings
for sigma and seeds; tabulate the final metric and the sigmas, plot their
trajectories.

    python tools/analysis/sigma_study.py CONFIG \\
        [--settings default no_decay lr_mult=10 no_decay,lr_mult=1000] \\
        [--seeds 0 1 2] [--work-dir DIR] [--out-dir DIR] \\
        [--cfg-options KEY=VALUE ...]

A setting is ``default`` (the paper's: sigma at the config's learning rate
and weight decay) or a comma-separated list of ``no_decay`` (no weight decay
on S-GMConv sigmas and the D-GMConv sigma predictor) and ``lr_mult=N``
(S-GMConv sigmas at N times the config's learning rate; the predictor keeps
the config's). Each run is ``tools/train.py`` on a child config that adds
``SigmaLoggerHook`` and the setting's ``paramwise_cfg`` (replacing the
config's own), in ``DIR/CONFIG_NAME/SETTING/seed_N``; a run whose
``result.json`` exists is not trained again. ``--cfg-options`` go to every
run (e.g. ``train_cfg.max_epochs=3`` for a shorter study).

Writes ``OUT/sigma_study_CONFIG_NAME.md`` (one row per setting: runs, the
final metric as mean ± std over seeds, the final S-GMConv sigmas and how far
they spread between layers, the runs whose log has a StuckSigmaHook
warning) and ``OUT/sigma_study_CONFIG_NAME.png`` (each setting's S-GMConv
sigma trajectories, first seed).
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys

import matplotlib
from mmengine.config import Config

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmgmconv.atomic_write import (  # noqa: E402
    atomic_path,
    dump_json_atomically,
    write_text_atomically,
)
from mmgmconv.checkpoint_safety import install_checkpoint_policy  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: validation metrics looked for, first found is reported
METRICS = ('coco/bbox_mAP', 'accuracy/top1', 'mIoU')
#: the log line of StuckSigmaHook
STUCK = 'GMConv is not learning'

CHILD = """_base_ = {config!r}
custom_hooks = _base_.custom_hooks + [dict(type='SigmaLoggerHook')]
optim_wrapper = dict(paramwise_cfg={paramwise!r})
randomness = dict(seed={seed})
"""


def setting_paramwise(setting):
    """The ``paramwise_cfg`` of a setting name (see the module doc)."""
    if setting == 'default':
        return {}
    sigma, predictor = {}, {}
    for part in setting.split(','):
        if part == 'no_decay':
            sigma['decay_mult'] = predictor['decay_mult'] = 0.0
        elif part.startswith('lr_mult='):
            try:
                factor = float(part[len('lr_mult='):])
            except ValueError:
                factor = float('nan')
            if not factor > 0:
                raise ValueError(f'{setting!r}: lr_mult must be a number '
                                 f'> 0, got {part!r}')
            sigma['lr_mult'] = factor
        else:
            raise ValueError(
                f'unknown setting part {part!r} in {setting!r}: use '
                "'default' or a comma-separated list of 'no_decay' and "
                "'lr_mult=N'")
    # 'sigma' matches 'sigma_predictor' too (a substring): the predictor
    # gets its own key so that lr_mult applies to S-GMConv sigmas only
    predictor.setdefault('lr_mult', 1.0)
    return dict(custom_keys={'sigma': sigma, 'sigma_predictor': predictor})


def train_one(config, setting, seed, work_dir, cfg_options):
    """Train (unless done) and return the run's ``result.json`` content."""
    os.makedirs(work_dir, exist_ok=True)
    result_path = osp.join(work_dir, 'result.json')
    if osp.exists(result_path):
        with open(result_path) as f:
            return json.load(f)
    child = osp.join(work_dir, 'study.py')
    paramwise = setting_paramwise(setting)
    if 'paramwise_cfg' in Config.fromfile(config).optim_wrapper:
        paramwise['_delete_'] = True  # the setting replaces the config's
    write_text_atomically(child, CHILD.format(
        config=osp.abspath(config), paramwise=paramwise, seed=seed))
    cmd = [sys.executable, osp.join(ROOT, 'tools/train.py'), child,
           '--work-dir', work_dir, '--overwrite']
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print(f'training {setting} seed {seed} -> {work_dir}', flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode})')
    result = read_run(work_dir)
    dump_json_atomically(result, result_path)
    return result


def read_run(work_dir):
    """Sigma trajectories, the final metric and the stuck warnings of the
    newest run in ``work_dir``."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'{work_dir} holds no vis_data/scalars.json')
    run = osp.join(work_dir, runs[-1])
    steps, sigmas, metric = [], {}, None
    with open(osp.join(run, 'vis_data', 'scalars.json')) as f:
        for line in f:
            row = json.loads(line)
            found = [k for k in METRICS if k in row]
            if found:
                metric = (found[0], row[found[0]])
            keys = [k for k in row if k.startswith('sigma/')]
            if keys:
                steps.append(row['step'])
                for k in keys:
                    sigmas.setdefault(k, []).append(row[k])
    if metric is None:
        raise ValueError(f'{run} logged none of the metrics {METRICS}')
    with open(osp.join(run, f'{runs[-1]}.log')) as f:
        warnings = sum(STUCK in line for line in f)
    return dict(steps=steps, sigmas=sigmas, metric=metric,
                stuck_warnings=warnings)


def mean_std(values):
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def table(results, settings):
    """The markdown table of the study (see the module doc)."""
    name = next(iter(results.values()))[0]['metric'][0]
    unit = '%' if name == 'accuracy/top1' else ''  # mmpretrain's percent
    lines = [
        f'| setting | runs | {name} | final S-GMConv sigmas (min-max) | '
        'spread between layers (std) | runs with a stuck-sigma warning |',
        '|---|---|---|---|---|---|'
    ]
    for setting in settings:
        runs = results[setting]
        m, s = mean_std([r['metric'][1] for r in runs])
        finals = [[v[-1] for v in r['sigmas'].values()] for r in runs]
        lo = min(min(f) for f in finals)
        hi = max(max(f) for f in finals)
        spread, spread_std = mean_std([statistics.pstdev(f) for f in finals])
        stuck = sum(r['stuck_warnings'] > 0 for r in runs)
        digits = 2 if unit else 3
        lines.append(
            f'| {setting} | {len(runs)} | {m:.{digits}f} ± {s:.{digits}f}'
            f'{unit} | {lo:.4f}-{hi:.4f} | {spread:.2e} ± {spread_std:.1e} '
            f'| {stuck} |')
    return '\n'.join(lines) + '\n'


def plot(results, settings, path, title):
    """One panel per setting: every S-GMConv sigma of the first seed."""
    fig, axes = plt.subplots(1, len(settings), figsize=(3.2 * len(settings),
                                                        3), squeeze=False,
                             sharey=True, layout='constrained')
    for ax, setting in zip(axes[0], settings):
        run = results[setting][0]
        for values in run['sigmas'].values():
            ax.plot(run['steps'], values, lw=0.8)
        ax.set_title(setting, fontsize=8)
        ax.set_xlabel('iteration')
    axes[0][0].set_ylabel('S-GMConv sigma (one line per layer)')
    fig.suptitle(title, fontsize=9)
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=100)
    plt.close(fig)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config', help='a GMConv training config')
    parser.add_argument(
        '--settings', nargs='+', default=[
            'default', 'no_decay', 'lr_mult=10', 'no_decay,lr_mult=100',
            'no_decay,lr_mult=1000'
        ], help='optimizer settings for sigma (default %(default)s)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2],
                        help='random seeds (default %(default)s)')
    parser.add_argument('--work-dir', default='work_dirs/sigma_study',
                        help='where the runs go (default %(default)s)')
    parser.add_argument('--out-dir', default='work_dirs/sigma_study',
                        help='where the table and the plot go')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='KEY=VALUE options for every run')
    args = parser.parse_args()
    for setting in args.settings:
        setting_paramwise(setting)  # a bad name fails before any training
    return args


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    name = osp.splitext(osp.basename(args.config))[0]
    results = {
        setting: [
            train_one(args.config, setting, seed,
                      osp.join(args.work_dir, name, setting.replace(
                          ',', '+').replace('=', ''), f'seed_{seed}'),
                      args.cfg_options) for seed in args.seeds
        ] for setting in args.settings
    }
    os.makedirs(args.out_dir, exist_ok=True)
    text = table(results, args.settings)
    path = osp.join(args.out_dir, f'sigma_study_{name}.md')
    with atomic_path(path) as partial, open(partial, 'w') as f:
        f.write(text)
    print(text)
    print(f'{path}: the table')
    path = osp.join(args.out_dir, f'sigma_study_{name}.png')
    plot(results, args.settings, path, f'{name}: S-GMConv sigma by setting '
         f'(seed {args.seeds[0]})')
    print(f'{path}: the sigma trajectories')


if __name__ == '__main__':
    main()
