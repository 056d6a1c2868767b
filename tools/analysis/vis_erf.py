"""Effective receptive fields side by side (paper Fig. 8).

    python tools/analysis/vis_erf.py CONFIG CKPT [CKPT ...] --images DIR \
        [--configs CFG ...] [--labels L ...] [--stage 3] [--out erf.png]
        [--ann-file COCO_JSON [--window PIXELS]]

One panel per checkpoint: the ERF (Luo et al. 2016) of the centre unit of
backbone output ``--stage``, averaged over the images of DIR. Checkpoints of
different architectures (StdConv, GMConv, DCN, GMConv-DCN) each take their
own config with ``--configs`` (default: CONFIG for all). Works on the demo
dataset out of the box: ``--images data/shapes_coco/val``.

With ``--ann-file`` (the COCO annotations of the images in DIR), Fig. 8 per
object size: one row per checkpoint, one panel per COCO size (small,
medium, large): the ERF of the backbone output unit at each object's
centre, in a ``--window`` square around it, averaged over the objects of
that size (``mmgmconv.visualization.object_centre_erfs``), e.g.
``--images data/shapes_coco/val --ann-file
data/shapes_coco/annotations/instances_val.json``. The annotations must
be those of the images: an ``--ann-file`` of another split than the
``--images`` folder (``instances_train2017.json`` with ``val2017/``), or
an image whose size is not the annotated one, is an error naming it.

Resizing differs from the detector's test pipeline, by design: each image
is resized to a ``--size`` square (aspect ratio not kept), where mmdet's
COCO test pipeline resizes keeping the aspect ratio to fit 1333x800 and
pads to a multiple of 32. A square input makes the ERFs of different
images the same shape, so they can be averaged; object centres and areas
are mapped to the square (``image_objects``). ``tools/reproduce.py fig8``
draws Fig. 8 this way.
"""
import argparse
import json
import os.path as osp
import re
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mmgmconv.apis import init_model  # noqa: E402
from mmgmconv.atomic_write import atomic_path  # noqa: E402
from mmgmconv.checkpoint_safety import install_checkpoint_policy  # noqa: E402
from mmgmconv.visualization import (  # noqa: E402
    COCO_SIZES,
    effective_receptive_field,
    load_images,
    object_centre_erfs,
)


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--images', required=True, help='folder of images')
    parser.add_argument('--configs', nargs='+',
                        help='one config per checkpoint')
    parser.add_argument('--labels', nargs='+')
    parser.add_argument('--stage', type=int, default=-1,
                        help='backbone output index (default: last)')
    parser.add_argument(
        '--size', type=int, default=128,
        help='images are resized to this square (aspect ratio not kept, '
        'unlike the detector\'s test pipeline: see above)')
    parser.add_argument('--max-images', type=int, default=32)
    parser.add_argument('--out', default='work_dirs/erf.png')
    parser.add_argument('--ann-file',
                        help='COCO annotations of --images: ERFs at object '
                        'centres per COCO size (Fig. 8)')
    parser.add_argument('--window', type=int, default=None,
                        help='with --ann-file: ERF crop around each object '
                        '(pixels of the --size image; default --size)')
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
    if args.ann_file:
        by_size(args, configs, labels, paths)
        return

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


def _splits(text):
    return set(re.findall(r'(?<![a-z])(train|val|test)', text.lower()))


def image_objects(ann_file, paths, size):
    """Per image of ``paths``: ``(cx, cy, area)`` of its objects, the centre
    in pixels of the image resized to ``size`` square (as ``load_images``
    resizes it), the area as annotated (original pixels).

    Raises:
        ValueError: the annotation file names another split (train, val,
            test) than the images' folder, an image is not in it, or an
            image's size is not the annotated one (annotations of other
            images of the same file name).
    """
    from PIL import Image
    folder = _splits(Path(paths[0]).parent.name) if paths else set()
    ann = _splits(Path(ann_file).name)
    if folder and ann and not folder & ann:
        raise ValueError(
            f'--ann-file {ann_file} is of split {"/".join(sorted(ann))}, '
            f'the images of {Path(paths[0]).parent} of split '
            f'{"/".join(sorted(folder))}: give the annotations of those '
            'images')
    coco = json.loads(Path(ann_file).read_text())
    images = {img['file_name'].split('/')[-1]: img for img in coco['images']}
    anns = {}
    for ann in coco['annotations']:
        if not ann.get('iscrowd', 0):
            anns.setdefault(ann['image_id'], []).append(ann)
    objects = []
    for path in paths:
        img = images.get(path.name)
        if img is None:
            raise ValueError(f'{path.name} is not an image of {ann_file}')
        with Image.open(path) as opened:
            actual = opened.size
        if actual != (img['width'], img['height']):
            raise ValueError(
                f'{path} is {actual[0]}x{actual[1]}, but {ann_file} '
                f'annotates a {img["width"]}x{img["height"]} image of that '
                'name: give the annotations of these images')
        sx, sy = size / img['width'], size / img['height']
        objects.append([
            ((x + w / 2) * sx, (y + h / 2) * sy, ann.get('area', w * h))
            for ann in anns.get(img['id'], [])
            for x, y, w, h in [ann['bbox']]])
    return objects


def by_size(args, configs, labels, paths):
    """Fig. 8: rows of checkpoints, columns of COCO sizes."""
    objects = image_objects(args.ann_file, paths, args.size)
    window = args.window or args.size
    fig, axes = plt.subplots(
        len(configs), len(COCO_SIZES), squeeze=False, layout='constrained',
        figsize=(3.2 * len(COCO_SIZES) + 1, 3.2 * len(configs)))
    for row, cfg, ckpt, label in zip(axes, configs, args.checkpoints, labels):
        model, _ = init_model(cfg, ckpt)
        images = load_images(paths, model, args.size)
        erfs = object_centre_erfs(model, images, objects, args.stage, window)
        for ax, (name, _, _) in zip(row, COCO_SIZES):
            ax.axis('off')
            if name not in erfs:
                ax.set_title(f'{label}: no {name} objects', fontsize=9)
                continue
            erf, count = erfs[name]
            image = ax.imshow(erf, cmap='inferno', vmin=0, vmax=1)
            ax.set_title(f'{label}: {name} ({count})', fontsize=9)
            print(f'{label}: {name}: {count} objects')
    fig.colorbar(image, ax=axes, label='input gradient (max = 1)')
    fig.suptitle(f'ERF at object centres by COCO size, backbone output '
                 f'{args.stage}, {window}x{window} window, images resized '
                 f'to {args.size}x{args.size}', fontsize=10)
    Path(osp.dirname(args.out) or '.').mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as partial:
        fig.savefig(partial, dpi=100)
    print(f'{args.out}: ERFs by object size of {len(configs)} '
          f'checkpoint(s), {len(paths)} images of {args.images}')


if __name__ == '__main__':
    main()
