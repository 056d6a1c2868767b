"""The commands that reproduce one of the paper's tables, from nothing to it.

    python tools/reproduce.py TABLE [--gpus 8] [--seeds 0 1 2]
        [--slurm PARTITION] [--rows NAME ...] [--cfg-options K=V ...] [--run]

TABLE is one of I, II, III, IV, V, fig6 (the paper's) or mini (Table V's
path in miniature on CPU: backbones pretrained on scikit-learn's digits,
small detectors on the embedded shapes dataset; ``make repro-mini``).
Without ``--run`` it prints the steps as a shell script, one command per
step; with ``--run`` it runs them in order from the current directory and
stops at the first failure, skipping a run whose ``metrics.json`` (or a
backbone whose checkpoint) already exists, so a stopped run resumes.

Every step is one of the repository's tools: ``tools/train.py`` /
``tools/test.py`` (one process: ``--gpus 1`` and ``mini``),
``tools/dist_train.sh`` / ``tools/dist_test.sh`` (torchrun, ``--gpus N``),
``tools/slurm_train.sh`` (``--slurm PARTITION``; tests then run with
``tools/dist_test.sh`` on one node), ``tools/dataset/make_shapes_coco.py``,
``tools/analysis/collect_results.py`` and ``tools/analysis/plot_fig6.py``,
plus ``mkdir``/``cp`` of a trained backbone to the path the detection
configs load. For Tables III and V the first step trains the two ImageNet
ResNet-50 backbones with the same recipe (plain for the baseline and DCN
rows, GMConv for the GMConv rows); each detection run is then told
explicitly which one it starts from (``--cfg-options
model.backbone.init_cfg.checkpoint=...``, the configs' default too).

Seeds: each table config is trained and tested once per ``--seeds`` seed
(``randomness.seed``) into ``WORK/NAME/seed_N``, and collect_results gives
mean ± std over them. The ImageNet backbones of Tables III and V are
trained once (seed 0): the seeds vary the detector training. The paper
reports one number per cell (Fig. 6: the mean of three runs); how many
seeds to run is our choice.
"""
import argparse
import os
import os.path as osp
import shlex
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]

CIFAR = 'configs/classification/cifar'
IMAGENET = 'configs/classification/imagenet'
DET_ROWS = ('r50', 'r50-gmconv-stem-l1', 'r50-gmconv-stem-l1-l2',
            'r50-gmconv-stem-l1-l3', 'r50-gmconv-stem-l1-l4',
            'r50-dconv-c3-c5', 'r50-gmconv-stem-l1-dconv-c3-c5')
DETECTORS = ('faster', 'cascade')


def _cifar(methods):
    return [f'{CIFAR}/{model}{method}_1xb128_{data}.py'
            for data in ('cifar10', 'cifar100')
            for model in ('resnet20', 'resnet56', 'resnet18')
            for method in methods]


def _imagenet(models, methods):
    return [f'{IMAGENET}/{model}{method}_8xb32_in1k.py' for model in models
            for method in methods]


def _coco(rows):
    return [f'configs/gmconv/{det}-rcnn_{row}_fpn_1x_coco.py'
            for det in DETECTORS for row in rows]


def _mini(rows):
    return [f'configs/mini/{det}-rcnn_{row.replace("r50", "r50-tiny")}'
            '_fpn_shapes.py' for det in DETECTORS for row in rows]


#: The ImageNet backbones of Tables III and V: (config, checkpoint the
#: detection configs load, read from where the configs take it); the mini
#: chain's digits backbones likewise.
IN1K_CHECKPOINTS = Config.fromfile(ROOT / 'configs/_base_/in1k_checkpoints.py')
COCO_BACKBONES = {
    'plain': (f'{IMAGENET}/resnet50_8xb32_in1k.py',
              IN1K_CHECKPOINTS.resnet50_in1k.checkpoint),
    'gmconv': (f'{IMAGENET}/resnet50-gmconv_8xb32_in1k.py',
               IN1K_CHECKPOINTS.resnet50_gmconv_in1k.checkpoint),
}
MINI_BACKBONES = {
    'plain': ('configs/mini/resnet50-tiny_digits.py',
              'work_dirs/repro-mini/checkpoints/resnet50-tiny_digits.pth'),
    'gmconv': ('configs/mini/resnet50-tiny-gmconv_digits.py',
               'work_dirs/repro-mini/checkpoints/'
               'resnet50-tiny-gmconv_digits.pth'),
}

#: TABLE -> (configs, backbones or None, work root, collect_results options)
TABLES = {
    'I': (_cifar(('', '-sgmconv', '-gmconv')), None, 'work_dirs/table1', []),
    'II': (_imagenet(('mobilenet-v2', 'resnet18', 'resnet50', 'alexnet'),
                     ('', '-sgmconv', '-gmconv')), None, 'work_dirs/table2',
           []),
    'III': (_coco(('r50', 'r50-gmconv-stem-l1-l4')), COCO_BACKBONES,
            'work_dirs/table3', []),
    'IV': (_imagenet(('resnet18', 'resnet50', 'alexnet'),
                     ('', '-gmconv-sigma', '-gmconv-sigma1-sigma2',
                      '-gmconv')), None, 'work_dirs/table4', []),
    'V': (_coco(DET_ROWS), COCO_BACKBONES, 'work_dirs/table5',
          ['--table', 'V']),
    'fig6': (_cifar(('', '-sgmconv-sigma1', '-sgmconv', '-sgmconv-sigma10')),
             None, 'work_dirs/fig6', []),
    'mini': (_mini(DET_ROWS), MINI_BACKBONES, 'work_dirs/repro-mini',
             ['--table', 'V']),
}

MINI_NOTE = ('Table V\'s chain in miniature: backbones pretrained on '
             'digits, detectors with Table V\'s stage patterns (fold on load '
             'for the partial rows) trained briefly on generated shapes, '
             'tested and collected. Its numbers show that the chain works; '
             'they are not the paper\'s results and say nothing about its '
             'claims.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('table', choices=list(TABLES))
    parser.add_argument('--gpus', type=int, default=None,
                        help='GPUs per run (default: 8 for ImageNet and '
                        'COCO, 1 for CIFAR; mini always runs one process)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--slurm', metavar='PARTITION',
                        help='train with tools/slurm_train.sh')
    parser.add_argument(
        '--rows', nargs='+', metavar='NAME',
        help='only the configs whose file name contains one of these '
        '(e.g. faster-rcnn_r50-tiny_fpn gmconv-stem-l1_fpn)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to every train and test command')
    parser.add_argument('--run', action='store_true',
                        help='run the steps instead of printing them')
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error(f'--seeds must be distinct ints >= 0, got {args.seeds}')
    if args.gpus is not None and args.gpus < 1:
        parser.error(f'--gpus must be >= 1, got {args.gpus}')
    if args.table == 'mini' and (args.slurm or (args.gpus or 1) != 1):
        parser.error('mini runs one CPU process per step: drop --gpus and '
                     '--slurm')
    return args


def _path(relative):
    """A repository path as the commands use it from the current dir."""
    return shlex.quote(osp.relpath(ROOT / relative))


class Steps:
    """The commands of one table, each with the file that shows it done."""

    def __init__(self, args):
        self.args = args
        self.steps = []  # (comment or None, command or None, done_if)
        cifar = args.table in ('I', 'fig6')
        self.gpus = args.gpus or (1 if cifar or args.table == 'mini' else 8)
        self.options = args.cfg_options

    def comment(self, text):
        self.steps.append((text, None, None))

    def add(self, command, done_if=None):
        self.steps.append((None, command, done_if))

    def _cfg_options(self, extra=()):
        options = list(extra) + list(self.options)
        return (' --cfg-options ' + ' '.join(map(shlex.quote, options))
                if options else '')

    def train(self, config, work_dir, extra=()):
        opts = self._cfg_options(extra)
        if self.args.slurm:
            name = Path(config).stem
            return (f'GPUS={self.gpus} bash {_path("tools/slurm_train.sh")} '
                    f'{shlex.quote(self.args.slurm)} {name} {_path(config)} '
                    f'{work_dir}{opts}')
        if self.gpus > 1:
            return (f'bash {_path("tools/dist_train.sh")} {_path(config)} '
                    f'{self.gpus} --work-dir {work_dir}{opts}')
        return (f'{sys.executable if self.args.run else "python"} '
                f'{_path("tools/train.py")} {_path(config)} '
                f'--work-dir {work_dir}{opts}')

    def test(self, config, work_dir):
        ckpt = f'"$(cat {work_dir}/last_checkpoint)"'
        opts = self._cfg_options()
        if self.gpus > 1 or self.args.slurm:
            return (f'bash {_path("tools/dist_test.sh")} {_path(config)} '
                    f'{ckpt} {self.gpus} --work-dir {work_dir}{opts}')
        return (f'{sys.executable if self.args.run else "python"} '
                f'{_path("tools/test.py")} {_path(config)} {ckpt} '
                f'--work-dir {work_dir}{opts}')


def table_steps(args):
    """The ``Steps`` of ``args.table``."""
    configs, backbones, root, collect_opts = TABLES[args.table]
    if args.rows:
        configs = [c for c in configs
                   if any(r in Path(c).name for r in args.rows)]
        if not configs:
            raise SystemExit(f'--rows {args.rows} matches no config of table '
                             f'{args.table}: {TABLES[args.table][0]}')
    steps = Steps(args)
    python = sys.executable if args.run else 'python'
    if args.table == 'mini':
        steps.comment('0. the embedded shapes dataset (a few seconds)')
        steps.add(f'{python} {_path("tools/dataset/make_shapes_coco.py")}',
                  done_if='data/shapes_coco/annotations/instances_val.json')
    if backbones:
        steps.comment('1. the backbones, trained with the same recipe: '
                      'plain for the baseline and DCN rows, GMConv for the '
                      'GMConv rows')
        for config, checkpoint in backbones.values():
            work_dir = f'{root}/{Path(config).stem}'
            steps.add(steps.train(config, work_dir, ['randomness.seed=0']),
                      done_if=checkpoint)
            steps.add(f'mkdir -p {osp.dirname(checkpoint)} && cp '
                      f'"$(cat {work_dir}/last_checkpoint)" {checkpoint}',
                      done_if=checkpoint)
    steps.comment(f'{2 if backbones else 1}. every config of the table, '
                  f'trained and tested once per seed {args.seeds}')
    work_dirs = []
    for config in configs:
        name = Path(config).stem
        work_dirs.append(f'{root}/{name}')
        extra = []
        if backbones:
            kind = 'gmconv' if '-gmconv' in name else 'plain'
            extra.append('model.backbone.init_cfg.checkpoint='
                         f'{backbones[kind][1]}')
        for seed in args.seeds:
            work_dir = f'{root}/{name}/seed_{seed}'
            done = f'{work_dir}/metrics.json'
            steps.add(steps.train(config, work_dir,
                                  extra + [f'randomness.seed={seed}']),
                      done_if=done)
            steps.add(steps.test(config, work_dir), done_if=done)
    steps.comment(f'{3 if backbones else 2}. the table: mean ± std over the '
                  'seeds beside the paper\'s numbers')
    out = f'{root}/results.md'
    steps.add(f'{python} {_path("tools/analysis/collect_results.py")} '
              + ' '.join(work_dirs) + ' ' + ' '.join(collect_opts)
              + f' --out {out}')
    if args.table == 'fig6':
        steps.add(f'{python} {_path("tools/analysis/plot_fig6.py")} {out} '
                  f'--out {root}/fig6.png')
    return steps


def main(argv=None):
    args = parse_args(argv)
    steps = table_steps(args)
    if not args.run:
        print('#!/usr/bin/env bash\nset -e')
        for comment, command, _ in steps.steps:
            print(f'\n# {comment}' if comment else command)
        if args.table == 'mini':
            print(f'\n# {MINI_NOTE}')
        return
    for comment, command, done_if in steps.steps:
        if comment:
            print(f'# {comment}', flush=True)
            continue
        if done_if and osp.exists(done_if):
            print(f'(done: {done_if} exists) {command}', flush=True)
            continue
        print(f'+ {command}', flush=True)
        code = subprocess.run(['bash', '-c', f'set -e; {command}'],
                              env=dict(os.environ)).returncode
        if code:
            raise SystemExit(f'step failed (exit status {code}): {command}')
    if args.table == 'mini':
        print(MINI_NOTE)


if __name__ == '__main__':
    main()
