"""Effective receptive fields side by side (paper Fig. 8).

    python tools/analysis/vis_erf.py CONFIG CKPT [CKPT ...] --images DIR \
        [--configs CFG ...] [--labels L ...] [--stage 3] [--out erf.png]

One panel per checkpoint: the ERF (Luo et al. 2016) of the centre unit of
backbone output ``--stage``, averaged over the images of DIR. Checkpoints of
different architectures (StdConv, GMConv, DCN, GMConv-DCN) each take their
own config with ``--configs`` (default: CONFIG for all). Works on the demo
dataset out of the box: ``--images data/shapes_coco/val``.
"""
import argparse
import os.path as osp
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

import mmgmconv  # noqa: F401,E402
from mmgmconv.apis import init_model  # noqa: E402
from mmgmconv.atomic_write import atomic_path  # noqa: E402
from mmgmconv.visualization import (effective_receptive_field,  # noqa: E402
                                    load_images)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--images', required=True, help='folder of images')
    parser.add_argument('--configs', nargs='+',
                        help='one config per checkpoint')
    parser.add_argument('--labels', nargs='+')
    parser.add_argument('--stage', type=int, default=-1,
                        help='backbone output index (default: last)')
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--max-images', type=int, default=32)
    parser.add_argument('--out', default='work_dirs/erf.png')
    args = parser.parse_args()
    configs = args.configs or [args.config] * len(args.checkpoints)
    labels = args.labels or [Path(c).stem for c in args.checkpoints]
    for name, values in (('--configs', configs), ('--labels', labels)):
        if len(values) != len(args.checkpoints):
            raise ValueError(f'{name} needs one entry per checkpoint '
                             f'({len(args.checkpoints)}), got {len(values)}')
    paths = sorted(p for p in Path(args.images).iterdir()
                   if p.suffix.lower() in ('.png', '.jpg', '.jpeg'))
    if not paths:
        raise FileNotFoundError(f'no .png/.jpg images in {args.images}')
    paths = paths[:args.max_images]

    fig, axes = plt.subplots(1, len(args.checkpoints),
                             figsize=(3.2 * len(args.checkpoints) + 1, 3.4),
                             squeeze=False, layout='constrained')
    for ax, cfg, ckpt, label in zip(axes[0], configs, args.checkpoints,
                                    labels):
        model, _ = init_model(cfg, ckpt)
        images = load_images(paths, model, args.size)
        erf = effective_receptive_field(
            model, images, args.stage,
            progress=lambda it: tqdm(it, desc=f'ERF {label}'))
        image = ax.imshow(erf, cmap='inferno', vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis('off')
    fig.colorbar(image, ax=axes, label='input gradient (max = 1)')
    fig.suptitle(f'ERF, backbone output {args.stage}, {len(paths)} images',
                 fontsize=10)
    Path(osp.dirname(args.out) or '.').mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as partial:
        fig.savefig(partial, dpi=100)
    print(f'{args.out}: ERF of {len(args.checkpoints)} checkpoint(s), '
          f'averaged over {len(paths)} images of {args.images}')


if __name__ == '__main__':
    main()
