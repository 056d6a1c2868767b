"""Fold every S-GMConv mask of a checkpoint into its conv weight.

    python tools/fuse_gmconv.py CONFIG CHECKPOINT OUT [--force]

The fused checkpoint has the keys of the same architecture built with plain
convs (``sigma`` parameters gone). D-GMConv layers cannot be folded (their
mask depends on the input) and are kept, so a network with a D-GMConv stem
still needs that stem in the config that loads the fused weights.

OUT is never the checkpoint itself (also not through another path, a
symlink or a hard link): the fused file lacks the sigmas, the optimizer
state and the schedule, so replacing the training checkpoint would lose
them. An existing OUT is replaced only with ``--force``. OUT is written
atomically (mmgmconv/atomic_write.py): a crash leaves no partial file
under its name.
"""
import argparse
import os.path as osp

import torch

from mmgmconv import SGMConv, fuse_gmconv
from mmgmconv.apis import init_model
from mmgmconv.atomic_write import atomic_path
from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.ops import FOLDED_KEY, named_gmconv_layers


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config', help='the GMConv config')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    parser.add_argument('out', help='where to write the fused checkpoint '
                        '(a new file, or an existing one with --force)')
    parser.add_argument('--force', action='store_true',
                        help='replace OUT if it exists (never the '
                        'CHECKPOINT itself)')
    return parser.parse_args()


def check_out(checkpoint: str, out: str, force: bool) -> None:
    """Refuse an OUT that is CHECKPOINT, or that exists without ``force``."""
    if not osp.lexists(out):
        return
    if osp.isdir(out):
        raise IsADirectoryError(f'OUT {out!r} is a folder: name the file the '
                                'fused checkpoint is written to')
    if '://' not in checkpoint and osp.exists(out) and osp.exists(
            checkpoint) and osp.samefile(out, checkpoint):
        raise ValueError(
            f'OUT {out!r} is the CHECKPOINT {checkpoint!r} itself: the fused '
            'checkpoint has no sigmas, optimizer state or schedule, so '
            'writing it there would destroy the training checkpoint. Name '
            'another OUT file')
    if not force:
        raise FileExistsError(f'OUT {out!r} exists: name a new file, or '
                              'pass --force to replace it')


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    check_out(args.checkpoint, args.out, args.force)
    model, ckpt = init_model(args.config, args.checkpoint)
    folded = [n for n, m in named_gmconv_layers(model)
              if isinstance(m, SGMConv)]
    model = fuse_gmconv(model)
    kept = [n for n, _ in named_gmconv_layers(model)]  # D-GMConv only now
    # the layers whose weight is W * M: the project's loaders refuse to
    # load them into an S-GMConv (mmgmconv.checkpoint_safety)
    # meta=None is no meta; a meta of another type is refused by the policy
    meta = dict(ckpt.get('meta') or {}, gmconv_fused=True,
                source_checkpoint=args.checkpoint)
    meta[FOLDED_KEY] = folded
    with atomic_path(args.out) as partial:
        torch.save(dict(meta=meta, state_dict=model.state_dict()), partial)
    print(f'fused checkpoint written to {args.out}' +
          (f'; D-GMConv layers kept: {", ".join(kept)}' if kept else ''))


if __name__ == '__main__':
    main()
