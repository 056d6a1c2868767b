"""Fold every S-GMConv mask of a checkpoint into its conv weight.

    python tools/fuse_gmconv.py CONFIG CHECKPOINT OUT

The fused checkpoint has the keys of the same architecture built with plain
convs (``sigma`` parameters gone). D-GMConv layers cannot be folded (their
mask depends on the input) and are kept, so a network with a D-GMConv stem
still needs that stem in the config that loads the fused weights.
"""
import argparse

import torch

import mmgmconv  # noqa: F401  (registers GMConv and the safe ckpt types)
from mmgmconv import fuse_gmconv
from mmgmconv.apis import init_model
from mmgmconv.ops import named_gmconv_layers


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config', help='the GMConv config')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    parser.add_argument('out', help='where to write the fused checkpoint')
    return parser.parse_args()


def main():
    args = parse_args()
    model, ckpt = init_model(args.config, args.checkpoint)
    model = fuse_gmconv(model)
    kept = [n for n, _ in named_gmconv_layers(model)]  # D-GMConv only now
    meta = dict(ckpt.get('meta', {}), gmconv_fused=True,
                source_checkpoint=args.checkpoint)
    torch.save(dict(meta=meta, state_dict=model.state_dict()), args.out)
    print(f'fused checkpoint written to {args.out}' +
          (f'; D-GMConv layers kept: {", ".join(kept)}' if kept else ''))


if __name__ == '__main__':
    main()
