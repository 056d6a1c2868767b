"""The options and set-up tools/train.py and tools/test.py share (as mmdet's
tools), and the Runner the test tools evaluate with."""
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .data_paths import check_dataset_paths
from .distributed import use_cpu_distributed


def add_common_args(parser):
    """The options tools/train.py and tools/test.py share (as mmdet's)."""
    parser.add_argument('--work-dir', help='where logs, checkpoints and '
                        'metrics go (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser):
    """Parse, and export ``LOCAL_RANK`` for launchers that pass an option."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_common_args(cfg: Config, args) -> Config:
    """``--cfg-options``, ``--work-dir`` and ``--launcher`` as in mmdet."""
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    if args.launcher != 'none' and not torch.cuda.is_available():
        use_cpu_distributed(cfg)
    return cfg


def build_test_runner(cfg: Config):
    """The Runner that tools/test.py and tools/deploy/onnx_test.py evaluate
    ``cfg`` with: no ``load_from``, test data paths checked."""
    cfg.load_from = None
    check_dataset_paths(cfg, ('test', ))
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
