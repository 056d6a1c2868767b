"""Train a detector (mmdet config) or a classifier (mmpretrain config).

Usage as mmdet's tools/train.py. Distributed: tools/dist_train.sh (torchrun)
or tools/slurm_train.sh.

A work dir that already holds the checkpoints of a run (``last_checkpoint``,
``epoch_N.pth``, ``iter_N.pth``) is not trained into again from scratch,
which would replace them: continue that run with ``--resume``, train into
another ``--work-dir``, or pass ``--overwrite`` to delete them, and the
results tested from them (``metrics.json``, ``--out`` pickles), and start
over. ``--overwrite`` first checks the checkpoints the new run reads
(``load_from``, ``init_cfg``): a missing one, or one among the files it
would delete, stops it before anything is deleted; it refuses ``resume``
however it is set (mmgmconv/engine/overwrite.py).

The checkpoint a run starts from is checked against the model
(CheckpointMatchHook): ``--resume`` needs one that fits strictly, as
tools/test.py does; ``load_from`` logs how many of the model's tensors it
filled, warns when it does not fit exactly and stops when it fills less
than half of the model.

Training stops with an error at the first NaN or infinite loss, naming the
iteration (StopOnNonFiniteLossHook), checkpoints survive a crash
(CrashSafeCheckpointHook) and the log warns when GMConv's sigmas do not
learn (StuckSigmaHook); each is added if the config lacks it. Every
checkpoint the run reads goes through the project's checkpoint policy
(mmgmconv.checkpoint_safety).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.engine import (
    CheckpointMatchHook,
    CrashSafeCheckpointHook,
    StopOnNonFiniteLossHook,
    StuckSigmaHook,
)
from mmgmconv.engine.overwrite import (
    check_overwrite,
    earlier_run_checkpoints,
    earlier_run_results,
    input_checkpoints,
)
from mmgmconv.engine.resume import (
    check_resume_checkpoint,
    find_resume_checkpoint,
)
from mmgmconv.utils import (
    add_common_args,
    apply_common_args,
    check_dataset_paths,
    close_distributed,
    parse_tool_args,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr by the real batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or, with no value, from the '
        'latest complete checkpoint in the work dir (a broken one named by '
        'last_checkpoint is skipped and logged)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='start a new run in a work dir that holds an earlier one: its '
        'checkpoints (last_checkpoint, epoch_N.pth, iter_N.pth) and '
        'results (metrics.json, result.json, *.pkl, *.pickle) are deleted '
        'first (its logs are kept)')
    add_common_args(parser)
    args = parse_tool_args(parser)
    if args.overwrite and args.resume is not None:
        parser.error('--overwrite starts a new run, --resume continues one: '
                     'pass one of them')
    return args


def resume_source(cfg, args):
    """Where ``cfg.resume`` was set, for a message."""
    if 'resume' in (args.cfg_options or {}):
        return f'--cfg-options resume={args.cfg_options["resume"]!r}'
    return f'resume={cfg.resume!r} in {args.config} (or its _base_)'


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    cfg = apply_common_args(Config.fromfile(args.config), args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(f'{args.config} has no auto_scale_lr setting '
                           '(base_batch_size) to scale from')
        cfg.auto_scale_lr.enable = True
    skipped = []
    if args.resume == 'auto':
        cfg.load_from, skipped = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = True
    elif args.resume is not None:
        check_resume_checkpoint(args.resume)
        cfg.resume, cfg.load_from = True, args.resume
    if args.overwrite and cfg.get('resume'):
        raise ValueError(
            f'--overwrite starts a new run, but {resume_source(cfg, args)} '
            'continues one: drop --overwrite to resume, or set '
            'resume=False (--cfg-options resume=False) to start over')
    earlier = ([] if cfg.get('resume') else
               earlier_run_checkpoints(cfg.work_dir))
    if earlier and not args.overwrite:
        raise FileExistsError(
            f'{cfg.work_dir} holds the checkpoints of an earlier run ('
            f'{", ".join(map(osp.basename, earlier))}), which a new run '
            'would overwrite: continue it with --resume, train into another '
            '--work-dir, or pass --overwrite to delete them and start over')
    if args.overwrite:
        earlier += earlier_run_results(cfg.work_dir)
        check_overwrite(input_checkpoints(cfg), earlier, cfg.work_dir)
    check_dataset_paths(cfg, ('train', 'val'))
    runner = (RUNNERS.build(cfg)
              if 'runner_type' in cfg else Runner.from_cfg(cfg))
    for path, why in skipped:
        runner.logger.warning(f'--resume: skipped {path}: {why}')
    runner.register_hook(CheckpointMatchHook(
        cfg.get('load_from'), args.config, resume=bool(cfg.get('resume'))))
    for hook_type in (StopOnNonFiniteLossHook, CrashSafeCheckpointHook,
                      StuckSigmaHook):
        if not any(isinstance(h, hook_type) for h in runner.hooks):
            # the config's own custom_hooks replaced gmconv_imports.py's list
            runner.register_hook(hook_type())
            runner.logger.info(f'added {hook_type.__name__}, which the '
                               "config's custom_hooks left out")
    if earlier and is_main_process():
        for path in earlier:
            os.remove(path)
        runner.logger.warning('--overwrite: deleted the earlier run\'s ' +
                              ', '.join(earlier))
    runner.train()


if __name__ == '__main__':
    main()
    close_distributed()
