"""``tools/reproduce.py TABLE --check``: the preflight of a table's steps.

Runs no step. Checks, from the current directory (where the steps run):

1. every config of the table (and of its backbones) loads with the
   ``--cfg-options`` and its model builds (on the CPU);
2. every data path of its train, val and test dataloaders and evaluators
   exists; each missing one is listed once with the configs that need it
   and how to get it;
3. each run's input checkpoint (``model.backbone.init_cfg`` of type
   Pretrained, ``load_from``) is made by an earlier step or exists;
4. the paper's GPUs, total batch and learning rate beside this run's
   (``--gpus``), and the GPUs visible here (not with ``--slurm``: the
   jobs run on the partition's nodes);
5. the disk the runs take: per run, the checkpoints the config keeps
   (``default_hooks.checkpoint``: every ``interval``-th epoch or
   iteration up to ``max_keep_ckpts``, plus the best with ``save_best``)
   times the size of one, estimated as the model's state plus the
   optimizer's (one tensor per parameter for SGD with momentum, two for
   Adam), against the free space where the work root is;

and ends with ``GO`` or ``NO-GO`` and the reasons; returns the exit
status (0 for go, 1 for no-go). The size estimate is ours: a checkpoint
also holds small metadata, and a run of other tools (logs, test
predictions) writes more.
"""
import argparse
import copy
import os.path as osp
import shutil
from pathlib import Path

from mmengine.config import DictAction

from mmgmconv.apis import build_model_from_config
from mmgmconv.utils import missing_dataset_paths

#: optimizer type -> state tensors per parameter (with momentum for SGD)
OPTIMIZER_SLOTS = {'SGD': 1, 'Adam': 2, 'AdamW': 2, 'RMSprop': 1}


def _cfg_options(options):
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--o', *options]).o if options else {}


def checkpoint_bytes(model, cfg):
    """Estimated bytes of one checkpoint of ``model`` trained with
    ``cfg``'s optimizer: its state dict plus the optimizer's state."""
    state = sum(t.numel() * t.element_size()
                for t in model.state_dict().values())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters()
                    if p.requires_grad)
    optimizer = cfg.optim_wrapper.get('optimizer', {})
    slots = OPTIMIZER_SLOTS.get(optimizer.get('type'), 0)
    if optimizer.get('type') == 'SGD' and not optimizer.get('momentum'):
        slots = 0
    return state + slots * trainable


def kept_checkpoints(cfg):
    """``(saved, kept)``: how many checkpoints a run of ``cfg`` writes and
    how many its ``default_hooks.checkpoint`` keeps on disk at the end
    (the best one with ``save_best`` included)."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    loop = cfg.train_cfg
    length = loop.get('max_epochs') or loop.get('max_iters')
    interval = hook.get('interval', 1)
    saved = length // interval if interval > 0 else 0
    if hook.get('save_last', True) and (interval <= 0 or length % interval):
        saved += 1
    keep = hook.get('max_keep_ckpts', -1)
    kept = saved if keep is None or keep <= 0 else min(saved, keep)
    best = hook.get('save_best')
    kept += len(best) if isinstance(best, (list, tuple)) else bool(best)
    return saved, kept


def input_checkpoints(cfg):
    """The local checkpoints a run of ``cfg`` loads before training."""
    found = []
    init = cfg.model.get('backbone', {}).get('init_cfg')
    for item in init if isinstance(init, list) else [init]:
        if isinstance(item, dict) and item.get('type') == 'Pretrained':
            found.append(('model.backbone.init_cfg.checkpoint',
                          item.get('checkpoint')))
    if cfg.get('load_from'):
        found.append(('load_from', cfg.load_from))
    return found


def _gb(size):
    return f'{size / 1e9:.1f} GB'


def check(args, steps, configs, backbones, work_root):
    """Print the preflight of ``steps`` (tools/reproduce.py's ``Steps``)
    for ``configs``, ``backbones`` (``{kind: (config, checkpoint it is
    copied to)}`` of the backbones the steps train) and runs under
    ``work_root``; return 0 (go) or 1 (no-go)."""
    table = args.table
    produced = {osp.normpath(ckpt): config
                for config, ckpt in backbones.values()}
    runs = [(config, 1) for config, _ in backbones.values()] + [
        (config, len(args.seeds)) for config in configs]
    problems, missing, disk = [], {}, 0
    options = _cfg_options(args.cfg_options)
    print(f'Preflight of tools/reproduce.py {table} (no step is run; '
          f'paths from {Path.cwd()})\n')
    print('1. configs and models')
    for config, count in runs:
        cfg = copy.deepcopy(steps.config(config))
        cfg.merge_from_dict(options)
        try:
            model = build_model_from_config(cfg)
        except Exception as err:  # any build error is what we report
            problems.append(f'{config} does not build: '
                            f'{type(err).__name__}: {err}')
            print(f'   {config}: does not build ({type(err).__name__}: '
                  f'{err})')
            continue
        size = checkpoint_bytes(model, cfg)
        saved, kept = kept_checkpoints(cfg)
        disk += size * kept * count
        if config in [c for c, _ in backbones.values()]:
            disk += size  # its copy for the detection configs
        print(f'   {config}: builds; checkpoints: {saved} saved, {kept} '
              f'kept, about {_gb(size)} each, x {count} run(s)')
        for key, path, hint in missing_dataset_paths(cfg):
            users = missing.setdefault(path, (key, hint, []))[2]
            if config not in users:
                users.append(config)
        for key, path in input_checkpoints(cfg):
            if not path or '://' in path:
                continue
            if osp.normpath(path) in produced:
                continue
            if not osp.isfile(path):
                problems.append(f'{config}: {key} {path} does not exist '
                                'and no earlier step makes it')
    print('\n2. data')
    if not missing:
        print('   every data path exists')
    for path, (key, hint, users) in sorted(missing.items()):
        print(f'   missing: {path} ({key} of {len(users)} config(s), e.g. '
              f'{users[0]}); to get it, {hint}')
        problems.append(f'data: {path} does not exist')
    print('\n3. input checkpoints')
    for ckpt, config in produced.items():
        print(f'   {ckpt}: made by the backbone step from {config}')
    for problem in problems:
        if 'no earlier step makes it' in problem:
            print(f'   {problem}')
    print('\n4. GPUs, total batch and learning rate (paper -> this run)')
    needed = 1
    for config, _ in runs:
        batch = steps.batch(config)
        needed = max(needed, batch.gpus)
        line = (f'   {Path(config).stem}: paper {batch.paper_gpus} x '
                f'{batch.per_gpu} = {batch.total} at lr {batch.lr:g}; this '
                f'run {batch.gpus} x {batch.new_per_gpu} = {batch.new_total}'
                f' at lr {batch.new_lr:g}')
        if batch.scaled:
            line += ' (lr scaled by auto_scale_lr)'
            if batch.base_batch_size != batch.total:
                problems.append(
                    f'{config}: auto_scale_lr.base_batch_size is '
                    f'{batch.base_batch_size}, not the paper\'s total '
                    f'{batch.total}: the lr would be scaled wrongly')
        print(line)
    if table == 'mini':
        print('   mini runs one CPU process per step')
    elif args.slurm:
        print(f'   GPUs: not checked here (the jobs run on partition '
              f'{args.slurm}); each run takes {needed}')
    else:
        import torch
        visible = torch.cuda.device_count()
        print(f'   GPUs visible here: {visible}; each run takes {needed}')
        if visible < needed:
            problems.append(f'GPUs: each run takes {needed}, {visible} '
                            'visible here (pass --gpus or --slurm)')
    print('\n5. disk')
    where = Path(work_root).resolve()
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    print(f'   the runs keep about {_gb(disk)} of checkpoints; {_gb(free)} '
          f'free at {where}')
    if disk > free:
        problems.append(f'disk: the runs need about {_gb(disk)}, '
                        f'{_gb(free)} free at {where}')
    if problems:
        print('\nNO-GO:\n' + '\n'.join(f' - {p}' for p in problems))
        return 1
    print('\nGO: every check passed')
    return 0
