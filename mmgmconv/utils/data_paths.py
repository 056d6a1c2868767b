"""Check a config's data paths before a run, with a hint to get the data."""
import os
import os.path as osp

from mmengine.config import Config

#: How to get the data a missing path belongs to, by a word in the path.
DATA_HINTS = {
    'shapes_coco': 'generate it with '
    '`python tools/dataset/make_shapes_coco.py`'
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
    if ds.get('split') and not prefix and root:
        # mmpretrain's ImageNet(split=...) reads the folder DATA_ROOT/SPLIT
        yield 'split', osp.join(root, ds['split'])


def missing_dataset_paths(cfg: Config, splits=('train', 'val', 'test')):
    """``[(config key, path, how to get it)]`` of every data path of
    ``cfg``'s dataloaders and evaluators of ``splits`` that does not exist
    (relative paths: from the working directory)."""
    missing = []
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
        missing += [(key, path, _missing_hint(path)) for key, path in checks
                    if '://' not in path and not osp.exists(path)]
    return missing


def dataset_folders(cfg: Config, split: str):
    """``[(config key, folder)]`` that ``cfg``'s ``split`` dataloader reads
    its samples from: each dataset's ``data_prefix`` folders (joined to its
    ``data_root``), its ``split`` folder, or else its ``data_root``."""
    loader = cfg.get(f'{split}_dataloader')
    folders = []
    for ds in _datasets(loader.get('dataset') if loader else None):
        paths = [(k, p) for k, p in _dataset_paths(ds)
                 if k in ('data_prefix', 'split')]
        if not paths and ds.get('data_root'):
            paths = [('data_root', ds['data_root'])]
        folders += [(f'{split}_dataloader.dataset.{k}', p) for k, p in paths]
    return folders


def check_dataset_paths(cfg: Config, splits=('train', 'val', 'test')):
    """Raise ``FileNotFoundError`` naming the first missing data path."""
    for key, path, hint in missing_dataset_paths(cfg, splits)[:1]:
        raise FileNotFoundError(
            f'{key}: {path!r} does not exist (working directory '
            f'{os.getcwd()}). To get the data, {hint}.')
