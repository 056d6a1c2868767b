"""Evaluate a checkpoint: COCO bbox AP (mmdet) or top-1/top-5 (mmpretrain).

Prints the metrics as a markdown table and saves them to
``WORK_DIR/metrics.json`` (read by tools/analysis/collect_results.py).
"""
import argparse
import json
import os.path as osp

from mmengine.dist import is_main_process

import mmgmconv  # noqa: F401  (registers GMConv and the safe ckpt types)
from mmgmconv.runner_setup import (add_common_args, build_test_runner,
                                   close_distributed, metrics_table,
                                   parse_tool_args)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_common_args(parser)
    return parse_tool_args(parser)


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg, runner = build_test_runner(args)
    try:
        runner.load_checkpoint(args.checkpoint, strict=True)
    except RuntimeError as err:
        raise RuntimeError(f'checkpoint {args.checkpoint} does not match the '
                           f'model of {args.config}:\n{err}') from None
    metrics = runner.test()
    if is_main_process():
        table = metrics_table(metrics)
        print(f'\n{osp.basename(args.config)}\n{table}')
        with open(osp.join(cfg.work_dir, 'metrics.json'), 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                           metrics=metrics), f, indent=2)


if __name__ == '__main__':
    main()
    close_distributed()
