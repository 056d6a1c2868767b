"""What tools/train.py and tools/test.py share: config set-up, data checks,
distributed set-up and tear-down, the metrics table."""
import gc
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

#: How to get the data a missing path belongs to, by a word in the path.
DATA_HINTS = {
    'shapes_coco': 'generate it with `python tools/dataset/make_shapes_coco.py`'
    ' (or `make demo`)',
    'coco': 'download COCO 2017 (train2017/, val2017/, annotations/) from '
    'cocodataset.org into data/coco, as in mmdet\'s dataset_prepare guide',
    'cifar': 'download the python version of CIFAR-10/100 from '
    'www.cs.toronto.edu/~kriz/cifar.html and extract it into that folder',
    'imagenet': 'get ILSVRC2012 from image-net.org and lay it out as in '
    'mmpretrain\'s ImageNet guide (train/, val/, meta/)',
}


def _missing_hint(path):
    low = path.lower()
    for word, hint in DATA_HINTS.items():
        if word in low:
            return hint
    return 'point the config at existing data with --cfg-options'


def _datasets(cfg):
    """Yield the leaf dataset configs of a (possibly wrapped) dataset cfg."""
    if cfg is None:
        return
    if 'datasets' in cfg:
        for sub in cfg['datasets']:
            yield from _datasets(sub)
    elif 'dataset' in cfg:
        yield from _datasets(cfg['dataset'])
    else:
        yield cfg


def _dataset_paths(ds):
    root = ds.get('data_root') or ''
    if root:
        yield 'data_root', root
    if ds.get('ann_file'):
        yield 'ann_file', osp.join(root, ds['ann_file'])
    prefix = ds.get('data_prefix')
    prefixes = prefix.values() if isinstance(prefix, dict) else [prefix]
    for p in prefixes:
        if isinstance(p, str) and p:
            yield 'data_prefix', osp.join(root, p)


def check_dataset_paths(cfg: Config, splits=('train', 'val', 'test')):
    """Raise ``FileNotFoundError`` naming the first missing data path."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        evaluator = cfg.get(f'{split}_evaluator')
        checks = []
        if loader:
            for ds in _datasets(loader.get('dataset')):
                checks += [(f'{split}_dataloader.dataset.{k}', p)
                           for k, p in _dataset_paths(ds)]
        for ev in (evaluator if isinstance(evaluator, list) else [evaluator]):
            if isinstance(ev, dict) and ev.get('ann_file'):
                checks.append((f'{split}_evaluator.ann_file', ev['ann_file']))
        for key, path in checks:
            if '://' not in path and not osp.exists(path):
                raise FileNotFoundError(
                    f'{key}: {path!r} does not exist (working directory '
                    f'{os.getcwd()}). To get the data, {_missing_hint(path)}.')


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


def use_cpu_distributed(cfg: Config):
    """Run mmengine's DDP on CPU processes (gloo), e.g. for tests.

    mmengine 0.10 sets the CUDA device and passes ``device_ids`` to DDP
    unconditionally. On a machine without GPUs we start the gloo process
    group from torchrun's environment ourselves (mmengine then skips its
    own ``init_dist``) and give DDP ``device_ids=None``, as CPU modules need.
    """
    cfg.setdefault('model_wrapper_cfg',
                   dict(type='MMDistributedDataParallel'))
    cfg.model_wrapper_cfg['device_ids'] = None
    if cfg.launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def close_distributed():
    """Destroy the default process group, if any, once a run succeeded.

    mmengine 0.10 never does, and a gloo process that exits with its group
    alive can abort at interpreter shutdown ("terminate called without an
    active exception", pytorch issue 190489), failing a finished run. Call
    it after the runner is out of scope: garbage (the DDP wrapper and its
    reducer, which hold the group) is collected first, then the group is
    shut down while the interpreter is fully alive.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def build_test_runner(cfg: Config):
    """The Runner that tools/test.py and tools/deploy/onnx_test.py evaluate
    ``cfg`` with: no ``load_from``, test data paths checked."""
    cfg.load_from = None
    check_dataset_paths(cfg, ('test', ))
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


#: Short names for the metrics the papers' tables report.
METRIC_NAMES = {
    'coco/bbox_mAP': 'AP',
    'coco/bbox_mAP_50': 'AP50',
    'coco/bbox_mAP_75': 'AP75',
    'coco/bbox_mAP_s': 'APs',
    'coco/bbox_mAP_m': 'APm',
    'coco/bbox_mAP_l': 'APl',
    'accuracy/top1': 'top-1',
    'accuracy/top5': 'top-5',
}


def metrics_table(metrics: dict) -> str:
    """A one-row markdown table of ``metrics`` (known names shortened)."""
    names = [METRIC_NAMES.get(k, k) for k in metrics]
    values = [f'{v:.3f}' if isinstance(v, float) else str(v)
              for v in metrics.values()]
    return '\n'.join([
        '| ' + ' | '.join(names) + ' |',
        '|' + '---|' * len(names),
        '| ' + ' | '.join(values) + ' |',
    ])
