"""Learned RF masks of every GMConv layer (paper Fig. 7) and sigma by depth.

    python tools/analysis/vis_rf_masks.py CONFIG CHECKPOINT [--out-dir DIR]

Writes DIR/rf_masks.png (each layer's mask), DIR/rf_masks_stage_mean.png
(the average mask per body stage, and below it how far it is from the mask
the layers started with, at sigma_init) and DIR/sigma_vs_depth.png. Works
for detection and classification checkpoints.
"""
import argparse
import math
import os
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmgmconv.apis import init_model  # noqa: E402
from mmgmconv.atomic_write import atomic_path  # noqa: E402
from mmgmconv.checkpoint_safety import install_checkpoint_policy  # noqa: E402
from mmgmconv.visualization import (  # noqa: E402
    initial_masks,
    layer_masks,
    stage_mean_masks,
)


def panel_title(label, mask, sigma1=None, sigma2=None):
    """``label``, the sigma(s) if given and the mask's smallest value."""
    lines = [label]
    if sigma1 is not None:
        lines.append(f'sigma {sigma1:.2f}' +
                     (f', {sigma2:.2f}' if sigma2 != sigma1 else ''))
    lines.append(f'min {mask.min():.3f}')
    return '\n'.join(lines)


def grid(items, path, title):
    """One panel per ``(panel title, mask)``, all on the same [0, 1] colour
    scale (a mask's largest value is 1, eq. 4), with its colour bar."""
    cols = min(8, len(items))
    rows = math.ceil(len(items) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols + 1, 2.4 * rows),
                             squeeze=False, layout='constrained')
    for ax in axes.flat:
        ax.axis('off')
    for ax, (label, mask) in zip(axes.flat, items):
        image = ax.imshow(mask, cmap='viridis', vmin=0, vmax=1)
        ax.set_title(label, fontsize=7)
    fig.colorbar(image, ax=axes, label='mask value')
    fig.suptitle(title)
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=100)
    plt.close(fig)


def learned_and_change(learned, initial, path, title):
    """Top row: each ``learned`` mask on the fixed [0, 1] scale; bottom
    row: ``learned - initial``, each panel on its own scale, symmetric
    around 0 (blue: the mask shrank there, red: it grew), as the stem's
    change can be a hundred times a body stage's."""
    cols = len(learned)
    fig, axes = plt.subplots(2, cols, figsize=(2.3 * cols + 1.5, 5),
                             squeeze=False, layout='constrained')
    for col, (label, mask) in enumerate(learned.items()):
        change = mask - initial[label]
        largest = float(abs(change).max())
        top = axes[0, col].imshow(mask, cmap='viridis', vmin=0, vmax=1)
        axes[0, col].set_title(panel_title(label, mask), fontsize=7)
        low = axes[1, col].imshow(change, cmap='RdBu_r',
                                  vmin=-largest or -1e-12,
                                  vmax=largest or 1e-12)
        axes[1, col].set_title('learned - initial', fontsize=7)
        bar = fig.colorbar(low, ax=axes[1, col], shrink=0.8,
                           format='%.1e')
        bar.ax.tick_params(labelsize=6)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(top, ax=axes[0].tolist(), label='mask value')
    fig.suptitle(title)
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=100)
    plt.close(fig)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config', help='the config the checkpoint was '
                        'trained with (detection or classification)')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('--out-dir', default='work_dirs/rf_masks',
                        help='where the figures go (default %(default)s)')
    return parser.parse_args()


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    model, _ = init_model(args.config, args.checkpoint)
    masks = layer_masks(model)
    if not masks:
        raise ValueError(f'{args.config} has no GMConv layer with a mask')
    os.makedirs(args.out_dir, exist_ok=True)
    name = osp.basename(args.checkpoint)

    path = osp.join(args.out_dir, 'rf_masks.png')
    grid([(panel_title(n, m, s1, s2), m)
          for n, (m, s1, s2) in masks.items()], path,
         f'RF masks of {len(masks)} GMConv layers ({name})')
    print(f'{path}: the mask of every GMConv layer, in network order')

    path = osp.join(args.out_dir, 'rf_masks_stage_mean.png')
    learned_and_change(
        stage_mean_masks(masks), stage_mean_masks(initial_masks(model)),
        path, f'average RF mask per stage ({name}) and its change from '
        'the initial mask')
    print(f'{path}: the average mask of each body stage and its change '
          'from the initial mask')

    path = osp.join(args.out_dir, 'sigma_vs_depth.png')
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot([s1 for _, s1, _ in masks.values()], 'o-', label='sigma1')
    ax.plot([s2 for _, _, s2 in masks.values()], 'x--', label='sigma2')
    ax.set_xlabel('GMConv layer (network order)')
    ax.set_ylabel('sigma')
    ax.set_yscale('log')
    ax.legend()
    ax.set_title(f'learned sigma by depth ({name})')
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=100)
    plt.close(fig)
    print(f'{path}: sigma of each GMConv layer against depth')


if __name__ == '__main__':
    main()
