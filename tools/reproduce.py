"""The commands that reproduce one of the paper's tables, from nothing to it.

    python tools/reproduce.py TABLE [--gpus N] [--seeds 0 1 2]
        [--slurm PARTITION] [--rows NAME ...] [--cfg-options K=V ...]
        [--run | --check]

TABLE is one of I, II, III, IV, V, fig6, fig7, fig8 (the paper's) or mini
(Table V's path in miniature on CPU: backbones pretrained on scikit-learn's
digits, small detectors on the embedded shapes dataset; ``make
repro-mini``). Without ``--run`` it prints the steps as a shell script;
with ``--run`` it runs them in order from the current directory and stops
at the first failure; ``--check`` runs no step and checks what the steps
need (see below).

**Rerunnable.** The printed script and ``--run`` skip what is done and
resume what was cut short, so after any interruption the same command
goes on where it stopped: every training runs ``tools/train.py --resume``
(continues from the last complete checkpoint in its work dir, starts a
fresh run where there is none, trains no further a finished one); a run
counts as done, and is skipped with its test, when its ``metrics.json``
is complete and was tested on the checkpoint that its ``last_checkpoint``
names (``tools/analysis/collect_results.py WORK_DIR --done``); a backbone
copy is written under a temporary name and renamed, so one that exists is
whole.

**One work dir per config.** Every table trains a config into
``work_dirs/paper/NAME/seed_N``, whichever table asks for it, so a run
that serves several tables is trained once: Table III's rows are Table
V's, Table IV's StdConv and GMConv rows are Table II's, Fig. 6's StdConv
and sigma-5 points are Table I's, and the ImageNet ResNet-50s that Tables
III and V start from are Table II's seed 0 runs. Each table's outputs are
``work_dirs/paper/tableN.md`` (``fig6.md`` and ``fig6.png``, ``fig7/``,
``fig8*.png``).

**GPUs.** ``--gpus N`` (default: the paper's, 8 for ImageNet and COCO, 1
for CIFAR) keeps the paper's total batch: images per GPU are set to the
paper's total over N where that divides (``train_dataloader.batch_size``,
said in a comment above the step); where it does not, each GPU keeps the
paper's images and the learning rate is scaled by the real total over the
paper's (``tools/train.py --auto-scale-lr``, mmengine's ``auto_scale_lr``),
also said above the step.

**Preflight** (``--check``): every config of the table loads and its model
builds; its data paths exist (each missing one listed with where it is
expected and how to get it); each run's input checkpoint is made by an
earlier step or exists; the paper's GPUs, total batch and learning rate
beside this run's; the disk the runs will take with the configs'
checkpoint retention (``default_hooks.checkpoint``) against the free
space; then GO or NO-GO with the reasons (exit status 0 or 1).

Every step is one of the repository's tools: ``tools/train.py`` /
``tools/test.py`` (one process: ``--gpus 1`` and ``mini``),
``tools/dist_train.sh`` / ``tools/dist_test.sh`` (torchrun, ``--gpus N``),
``tools/slurm_train.sh`` / ``tools/slurm_test.sh`` (``--slurm
PARTITION``: training and testing through srun),
``tools/dataset/make_shapes_coco.py``,
``tools/analysis/collect_results.py``, ``plot_fig6.py``,
``vis_rf_masks.py`` and ``vis_erf.py``, plus ``mkdir``/``cp``/``mv`` of a
trained backbone to the path the detection configs load. For Tables III
and V the first step trains the two ImageNet ResNet-50 backbones with the
same recipe (plain for the baseline and DCN rows, GMConv for the GMConv
rows); each detection run is then told explicitly which one it starts
from (``--cfg-options model.backbone.init_cfg.checkpoint=...``, the
configs' default too).

Seeds: each config is trained and tested once per ``--seeds`` seed
(``randomness.seed``), and collect_results gives mean ± std over them.
The ImageNet backbones of Tables III and V are trained once (seed 0): the
seeds vary the detector training. The paper reports one number per cell
(Fig. 6: the mean of three runs); how many seeds to run is our choice.
"""
import argparse
import functools
import importlib.util
import os
import os.path as osp
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]

CIFAR = 'configs/classification/cifar'
IMAGENET = 'configs/classification/imagenet'
DETECTORS = ('faster', 'cascade')


def _load_tool(path, name):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: what says whether a run is done, and Table V's rows
COLLECT = _load_tool('tools/analysis/collect_results.py', 'collect_results')
DET_ROWS = tuple(COLLECT.TABLE_V_ROWS)


def _cifar(methods):
    return [f'{CIFAR}/{model}{method}_1xb128_{data}.py'
            for data in ('cifar10', 'cifar100')
            for model in ('resnet20', 'resnet56', 'resnet18')
            for method in methods]


def _imagenet(models, methods):
    return [f'{IMAGENET}/{model}{method}_8xb32_in1k.py' for model in models
            for method in methods]


def _coco(rows, detectors=DETECTORS):
    return [f'configs/gmconv/{det}-rcnn_{row}_fpn_1x_coco.py'
            for det in detectors for row in rows]


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
PAPER_WORK = 'work_dirs/paper'
MINI_WORK = 'work_dirs/repro-mini'
#: Fig. 7 (RF masks of S-GMConv networks) and Fig. 8 (ERFs of Faster
#: R-CNN R50-FPN: StdConv, GMConv, DCN, GMConv-DCN)
FIG7 = _imagenet(('resnet18', 'resnet50', 'alexnet'), ('-sgmconv', ))
FIG8 = _coco(('r50', 'r50-gmconv-stem-l1-l4', 'r50-dconv-c3-c5',
              'r50-gmconv-stem-l1-dconv-c3-c5'), ('faster', ))
FIG8_LABELS = ('StdConv', 'GMConv', 'DCN', 'GMConv-DCN')

#: TABLE -> (configs, backbones or None, output name, collect_results
#: options)
TABLES = {
    'I': (_cifar(('', '-sgmconv', '-gmconv')), None, 'table1', []),
    'II': (_imagenet(('mobilenet-v2', 'resnet18', 'resnet50', 'alexnet'),
                     ('', '-sgmconv', '-gmconv')), None, 'table2', []),
    'III': (_coco(('r50', 'r50-gmconv-stem-l1-l4')), COCO_BACKBONES,
            'table3', []),
    'IV': (_imagenet(('resnet18', 'resnet50', 'alexnet'),
                     ('', '-gmconv-sigma', '-gmconv-sigma1-sigma2',
                      '-gmconv')), None, 'table4', []),
    'V': (_coco(DET_ROWS), COCO_BACKBONES, 'table5', ['--table', 'V']),
    'fig6': (_cifar(('', '-sgmconv-sigma1', '-sgmconv', '-sgmconv-sigma10')),
             None, 'fig6', []),
    'fig7': (FIG7, None, 'fig7', []),
    'fig8': (FIG8, COCO_BACKBONES, 'fig8', []),
    'mini': (_mini(DET_ROWS), MINI_BACKBONES, 'results', ['--table', 'V']),
}

MINI_NOTE = ('Table V\'s chain in miniature: backbones pretrained on '
             'digits, detectors with Table V\'s stage patterns (fold on load '
             'for the partial rows) trained briefly on generated shapes, '
             'tested and collected. Its numbers show that the chain works; '
             'they are not the paper\'s results and say nothing about its '
             'claims.')


def paper_gpus(config):
    """The paper's GPU count for a config: 1 for CIFAR and the CPU
    miniature, 8 for ImageNet and COCO."""
    return 1 if config.startswith((CIFAR, 'configs/mini')) else 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('table', choices=list(TABLES))
    parser.add_argument('--gpus', type=int, default=None,
                        help='GPUs per run (default: the paper\'s, 8 for '
                        'ImageNet and COCO, 1 for CIFAR; mini always runs '
                        'one process); the paper\'s total batch is kept')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--slurm', metavar='PARTITION',
                        help='train and test with tools/slurm_train.sh and '
                        'tools/slurm_test.sh')
    parser.add_argument(
        '--rows', nargs='+', metavar='NAME',
        help='only the configs whose file name contains one of these '
        '(e.g. faster-rcnn_r50-tiny_fpn gmconv-stem-l1_fpn)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to every train and test command')
    what = parser.add_mutually_exclusive_group()
    what.add_argument('--run', action='store_true',
                      help='run the steps instead of printing them')
    what.add_argument('--check', action='store_true',
                      help='preflight: check configs, data, input '
                      'checkpoints, batch and learning rate, disk; run '
                      'nothing')
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error(f'--seeds must be distinct ints >= 0, got {args.seeds}')
    if args.gpus is not None and args.gpus < 1:
        parser.error(f'--gpus must be >= 1, got {args.gpus}')
    if args.table == 'mini' and (args.slurm or (args.gpus or 1) != 1):
        parser.error('mini runs one CPU process per step: drop --gpus and '
                     '--slurm')
    bad = [o for o in args.cfg_options if '=' not in o]
    if bad:
        parser.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    return args


def _q(path):
    """A path quoted for the shell."""
    return shlex.quote(str(path))


def _path(relative):
    """A repository path as the commands use it from the current dir."""
    return _q(osp.relpath(ROOT / relative))


class Batch:
    """The paper's batch and learning rate of a config, and this run's.

    The paper's: its GPU count (:func:`paper_gpus`) times the config's
    ``train_dataloader.batch_size``, at the config's optimizer lr. With
    ``gpus`` GPUs the total is kept (``batch_size`` = total / gpus) where
    that divides; else each GPU keeps the paper's images and the lr is
    scaled by the real total over the paper's (``auto_scale_lr``).
    """

    def __init__(self, config, cfg, gpus):
        self.paper_gpus = paper_gpus(config)
        self.per_gpu = cfg.train_dataloader.batch_size
        self.total = self.paper_gpus * self.per_gpu
        self.lr = cfg.optim_wrapper.optimizer.lr
        self.gpus = gpus
        base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
        self.base_batch_size = base
        if self.total % gpus == 0:
            self.new_per_gpu, self.scaled = self.total // gpus, False
        else:
            self.new_per_gpu, self.scaled = self.per_gpu, True
        self.new_total = gpus * self.new_per_gpu
        self.new_lr = self.lr * self.new_total / self.total

    def options(self):
        """``--cfg-options`` for this run (the per-GPU batch)."""
        if self.new_per_gpu == self.per_gpu:
            return []
        return [f'train_dataloader.batch_size={self.new_per_gpu}']

    def note(self):
        """What the step does to the paper's recipe, or None."""
        paper = (f'the paper\'s {self.paper_gpus} x {self.per_gpu} = '
                 f'{self.total} images at lr {self.lr:g}')
        if self.gpus == self.paper_gpus:
            return None
        if not self.scaled:
            return (f'{self.gpus} GPUs x {self.new_per_gpu} images = '
                    f'{self.new_total}, {paper} (same total batch and lr; '
                    f'batch-norm statistics over {self.new_per_gpu} images '
                    f'per GPU instead of {self.per_gpu})')
        return (f'{self.gpus} GPUs x {self.per_gpu} images = '
                f'{self.new_total}, not {paper}: {self.total} does not '
                f'divide over {self.gpus} GPUs, so lr is scaled by '
                f'{self.new_total}/{self.total} to {self.new_lr:g} '
                '(tools/train.py --auto-scale-lr, mmengine\'s auto_scale_lr)')


class Steps:
    """The steps of one table: shell commands, each group with what shows
    it done."""

    def __init__(self, args):
        self.args = args
        #: (comments, commands, done) with done None, ('run', WORK_DIR) or
        #: ('file', PATH)
        self.steps = []
        self.python = _q(sys.executable) if args.run else 'python'

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def config(config):
        """``Config`` of a repository config (loaded once; not to be
        changed: copy it first)."""
        return Config.fromfile(ROOT / config)

    def gpus(self, config):
        return self.args.gpus or paper_gpus(config)

    def batch(self, config):
        return Batch(config, self.config(config), self.gpus(config))

    def comment(self, text):
        self.steps.append(([text], [], None))

    def add(self, commands, done=None, notes=()):
        self.steps.append((list(notes), list(commands), done))

    def _cfg_options(self, extra=()):
        options = list(extra) + list(self.args.cfg_options)
        return (' --cfg-options ' + ' '.join(map(_q, options))
                if options else '')

    def train(self, config, work_dir, extra=()):
        """``(command, notes)`` training ``config`` into ``work_dir``,
        resuming what is there."""
        gpus, notes, flags = self.gpus(config), [], ' --resume'
        if gpus != paper_gpus(config):
            batch = self.batch(config)
            extra = list(extra) + batch.options()
            notes.append(batch.note())
            if batch.scaled:
                flags += ' --auto-scale-lr'
        opts = flags + self._cfg_options(extra)
        if self.args.slurm:
            return (f'GPUS={gpus} bash {_path("tools/slurm_train.sh")} '
                    f'{_q(self.args.slurm)} {_q(Path(config).stem)} '
                    f'{_path(config)} {_q(work_dir)}{opts}'), notes
        if gpus > 1:
            return (f'bash {_path("tools/dist_train.sh")} {_path(config)} '
                    f'{gpus} --work-dir {_q(work_dir)}{opts}'), notes
        return (f'{self.python} {_path("tools/train.py")} {_path(config)} '
                f'--work-dir {_q(work_dir)}{opts}'), notes

    def test(self, config, work_dir):
        """The command testing the last checkpoint of ``work_dir``."""
        ckpt = f'"$(cat {_q(work_dir + "/last_checkpoint")})"'
        opts = f' --work-dir {_q(work_dir)}' + self._cfg_options()
        gpus = self.gpus(config)
        if self.args.slurm:
            return (f'GPUS={gpus} bash {_path("tools/slurm_test.sh")} '
                    f'{_q(self.args.slurm)} {_q(Path(config).stem)} '
                    f'{_path(config)} {ckpt}{opts}')
        if gpus > 1:
            return (f'bash {_path("tools/dist_test.sh")} {_path(config)} '
                    f'{ckpt} {gpus}{opts}')
        return (f'{self.python} {_path("tools/test.py")} {_path(config)} '
                f'{ckpt}{opts}')

    def script(self):
        """The steps as a bash script that skips what is done."""
        lines = ['#!/usr/bin/env bash',
                 f'# python tools/reproduce.py {self.args.table}: run it '
                 'again after any interruption: what',
                 '# is done is skipped, a run cut short resumes from its '
                 'last complete checkpoint.',
                 'set -e']
        for comments, commands, done in self.steps:
            comments = [line for c in comments
                        for line in textwrap.wrap(c, 77)]
            if not commands:
                lines += [''] + [f'# {c}' for c in comments]
                continue
            lines += [f'# {c}' for c in comments]
            if done is None:
                lines += commands
                continue
            kind, path = done
            test = (f'{self.python} '
                    f'{_path("tools/analysis/collect_results.py")} '
                    f'{_q(path)} --done' if kind == 'run'
                    else f'[ -f {_q(path)} ]')
            lines.append(f'if ! {test}; then')
            lines += [f'  {c}' for c in commands]
            lines.append('fi')
        if self.args.table == 'mini':
            lines += [''] + [f'# {c}' for c in textwrap.wrap(MINI_NOTE, 77)]
        return '\n'.join(lines)

    def run(self):
        """Run the steps from the current directory, skipping what is
        done; exit at the first failing command."""
        for comments, commands, done in self.steps:
            for comment in comments:
                print(f'# {comment}', flush=True)
            if done is not None:
                kind, path = done
                finished, why = (COLLECT.run_done(path) if kind == 'run'
                                 else (osp.isfile(path), path))
                if finished:
                    print(f'(done: {why})', flush=True)
                    continue
                if kind == 'run':
                    print(f'(not done: {why})', flush=True)
            for command in commands:
                print(f'+ {command}', flush=True)
                code = subprocess.run(['bash', '-c', f'set -e; {command}'],
                                      env=dict(os.environ)).returncode
                if code:
                    raise SystemExit(f'step failed (exit status {code}): '
                                     f'{command}')
        if self.args.table == 'mini':
            print(MINI_NOTE)


def select_rows(args):
    configs = TABLES[args.table][0]
    if not args.rows:
        return configs
    chosen = [c for c in configs
              if any(r in Path(c).name for r in args.rows)]
    if not chosen:
        raise SystemExit(f'--rows {args.rows} matches no config of table '
                         f'{args.table}: {configs}')
    return chosen


def work_root(table):
    return MINI_WORK if table == 'mini' else PAPER_WORK


def run_dir(table, config, seed):
    """Where ``config`` is trained with ``seed``, whichever table asks."""
    return f'{work_root(table)}/{Path(config).stem}/seed_{seed}'


def backbone_kind(config):
    return 'gmconv' if '-gmconv' in Path(config).name else 'plain'


def table_steps(args):
    """The ``Steps`` of ``args.table``."""
    _, backbones, out_name, collect_opts = TABLES[args.table]
    configs = select_rows(args)
    root = work_root(args.table)
    steps = Steps(args)
    python = steps.python
    number = 1
    if args.table == 'mini':
        steps.comment('0. the embedded shapes dataset (a few seconds)')
        steps.add([f'{python} {_path("tools/dataset/make_shapes_coco.py")}'],
                  done=('file',
                        'data/shapes_coco/annotations/instances_val.json'))
    if backbones:
        kinds = [k for k in backbones
                 if any(backbone_kind(c) == k for c in configs)]
        steps.comment(f'{number}. the backbones, trained with the same '
                      'recipe: plain for the baseline and DCN rows, GMConv '
                      'for the GMConv rows (seed 0: the same runs as Table '
                      'II\'s)' if args.table != 'mini' else
                      f'{number}. the backbones, trained with the same '
                      'recipe: plain for the baseline and DCN rows, GMConv '
                      'for the GMConv rows')
        number += 1
        for kind in kinds:
            config, checkpoint = backbones[kind]
            work_dir = run_dir(args.table, config, 0)
            train, notes = steps.train(config, work_dir,
                                       ['randomness.seed=0'])
            partial = f'{checkpoint}.partial'
            steps.add([train,
                       f'mkdir -p {_q(osp.dirname(checkpoint))} && cp '
                       f'"$(cat {_q(work_dir + "/last_checkpoint")})" '
                       f'{_q(partial)} && mv {_q(partial)} '
                       f'{_q(checkpoint)}'],
                      done=('file', checkpoint), notes=notes)
    steps.comment(f'{number}. every config, trained and tested once per '
                  f'seed {args.seeds}; a run that is done is skipped')
    number += 1
    work_dirs = []
    for config in configs:
        work_dirs.append(f'{root}/{Path(config).stem}')
        extra = []
        if backbones:
            extra.append('model.backbone.init_cfg.checkpoint='
                         f'{backbones[backbone_kind(config)][1]}')
        for seed in args.seeds:
            work_dir = run_dir(args.table, config, seed)
            train, notes = steps.train(config, work_dir,
                                       extra + [f'randomness.seed={seed}'])
            steps.add([train, steps.test(config, work_dir)],
                      done=('run', work_dir), notes=notes)
    collect = f'{python} {_path("tools/analysis/collect_results.py")}'
    out = f'{root}/{out_name}.md'
    if args.table in ('fig7', 'fig8'):
        figure_steps(steps, args, configs, number)
        return steps
    steps.comment(f'{number}. the table: mean ± std over the seeds beside '
                  'the paper\'s numbers')
    steps.add([f'{collect} ' + ' '.join(map(_q, work_dirs)) + ''.join(
        f' {o}' for o in collect_opts) + f' --out {_q(out)}'])
    if args.table == 'fig6':
        steps.add([f'{python} {_path("tools/analysis/plot_fig6.py")} '
                   f'{_q(out)} --out {_q(root + "/fig6.png")}'])
    return steps


def figure_steps(steps, args, configs, number):
    """The drawing steps of Figs. 7 and 8, from the first seed's runs."""
    python, seed = steps.python, args.seeds[0]
    last = {c: f'"$(cat {_q(run_dir(args.table, c, seed))}/last_checkpoint)"'
            for c in configs}
    if args.table == 'fig7':
        steps.comment(f'{number}. Fig. 7: the learned RF masks of each '
                      f'S-GMConv network (seed {seed}\'s run)')
        for config in configs:
            out = f'{PAPER_WORK}/fig7/{Path(config).stem}'
            steps.add([f'{python} {_path("tools/analysis/vis_rf_masks.py")} '
                       f'{_path(config)} {last[config]} --out-dir {_q(out)}'])
        return
    steps.comment(
        f'{number}. Fig. 8: ERFs of the Faster R-CNN R50-FPN StdConv, GMConv '
        f'(Stem L1-L4), DCN and GMConv-DCN (seed {seed}\'s runs) at object '
        'centres by COCO size, on val2017')
    labels = [dict(zip(FIG8, FIG8_LABELS))[c] for c in configs]
    steps.add([
        f'{python} {_path("tools/analysis/vis_erf.py")} {_path(configs[0])} '
        + ' '.join(last[c] for c in configs) + ' --configs '
        + ' '.join(_path(c) for c in configs) + ' --labels '
        + ' '.join(labels) + ' --images data/coco/val2017 --ann-file '
        'data/coco/annotations/instances_val2017.json --max-images 100 '
        f'--size 512 --window 256 --out {_q(PAPER_WORK + "/fig8.png")}'])


def main(argv=None):
    args = parse_args(argv)
    steps = table_steps(args)
    if args.check:
        preflight = _load_tool('tools/reproduce_check.py', 'reproduce_check')
        configs = select_rows(args)
        backbones = TABLES[args.table][1] or {}
        used = {k: v for k, v in backbones.items()
                if any(backbone_kind(c) == k for c in configs)}
        raise SystemExit(preflight.check(args, steps, configs, used,
                                         work_root(args.table)))
    if args.run:
        steps.run()
    else:
        print(steps.script())


if __name__ == '__main__':
    main()
