"""Evaluate an exported model's graph(s) under onnxruntime on a test set.

    python tools/deploy/onnx_test.py CONFIG MODEL.onnx [--work-dir DIR]

Runs the config's test loop and evaluator (mmengine ``Runner.test``) with
the tensor part from MODEL.onnx (and, for two-stage detectors, the RoI box
head graphs written next to it by tools/deploy/export_onnx.py) and the
post-processing from mmdet / mmpretrain; prints the same metrics table as
tools/test.py and saves it to WORK_DIR/metrics.json (written to a temporary
name and renamed). No checkpoint is needed: every weight that computes
something is in the graphs. A graph output that is not finite (NaN or inf)
stops the run with an error naming the graph and the output.
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config

from mmgmconv.atomic_write import write_text_atomically
from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.deploy import build_ort_model
from mmgmconv.utils import (
    add_common_args,
    apply_common_args,
    build_test_runner,
    metrics_table,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('onnx', help='graph written by export_onnx.py')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.launcher != 'none':
        parser.error(f'onnx_test.py runs in one process; got --launcher '
                     f'{args.launcher!r}, expected none')
    for what, path in (('config', args.config), ('ONNX graph', args.onnx)):
        if not osp.isfile(path):
            parser.error(f'{what} {path!r} not found' + (
                ' (it is a folder)' if osp.isdir(path) else ''))
    return args


def main(argv=None):
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args(argv)
    cfg = apply_common_args(Config.fromfile(args.config), args)
    runner = build_test_runner(cfg)
    runner.model = build_ort_model(runner.model, args.onnx)
    metrics = runner.test()
    print(f'\n{osp.basename(args.config)} (onnxruntime: {args.onnx})\n'
          f'{metrics_table(metrics)}')
    write_text_atomically(
        osp.join(cfg.work_dir, 'metrics.json'),
        json.dumps(dict(config=args.config, onnx=args.onnx, metrics=metrics),
                   indent=2))


if __name__ == '__main__':
    main()
