"""Train a detector (mmdet config) or a classifier (mmpretrain config).

Usage as mmdet's tools/train.py; mmgmconv is imported so configs need no
edit. Distributed: tools/dist_train.sh (torchrun) or tools/slurm_train.sh.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmgmconv  # noqa: F401  (registers GMConv and the safe ckpt types)
from mmgmconv.engine.resume import (check_resume_checkpoint,
                                    find_resume_checkpoint)
from mmgmconv.utils import (add_common_args, apply_common_args,
                             check_dataset_paths, close_distributed,
                             parse_tool_args)


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
    add_common_args(parser)
    return parse_tool_args(parser)


def main():
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
    check_dataset_paths(cfg, ('train', 'val'))
    runner = (RUNNERS.build(cfg)
              if 'runner_type' in cfg else Runner.from_cfg(cfg))
    for path, why in skipped:
        runner.logger.warning(f'--resume: skipped {path}: {why}')
    runner.train()


if __name__ == '__main__':
    main()
    close_distributed()
