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
import math
import os.path as osp
import re
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
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


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'must be a positive integer, got {text!r}')
    return value


def backbone_outputs(config: str):
    """How many outputs the backbone of ``config`` returns, from its
    ``out_indices``; None if the config does not say (the backbone's
    default), then the built model is asked."""
    from mmengine.config import Config
    indices = Config.fromfile(config).model.get('backbone', {}).get(
        'out_indices')
    return None if indices is None else len(indices)


def check_stage(stage: int, outputs: int, config: str) -> None:
    """Raise ``ValueError`` unless ``stage`` indexes ``outputs`` backbone
    outputs (negative indices count from the last)."""
    if not -outputs <= stage < outputs:
        raise ValueError(
            f'--stage {stage} is not a backbone output of {config}: its '
            f'backbone returns {outputs} output(s), so --stage must be from '
            f'{-outputs} to {outputs - 1} (-1: the last)')


def parse_args(argv=None):
    """The arguments, checked before any model is built."""
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
        '--size', type=positive_int, default=128,
        help='images are resized to this square (aspect ratio not kept, '
        'unlike the detector\'s test pipeline: see above)')
    parser.add_argument('--max-images', type=positive_int, default=32,
                        help='use the first N images of --images (sorted '
                        'by name; default 32)')
    parser.add_argument('--out', default='work_dirs/erf.png')
    parser.add_argument('--ann-file',
                        help='COCO annotations of --images: ERFs at object '
                        'centres per COCO size (Fig. 8)')
    parser.add_argument('--window', type=positive_int, default=None,
                        help='with --ann-file: ERF crop around each object '
                        '(pixels of the --size image; default --size)')
    args = parser.parse_args(argv)
    args.configs = args.configs or [args.config] * len(args.checkpoints)
    args.labels = args.labels or [Path(c).stem for c in args.checkpoints]
    for name, values in (('--configs', args.configs),
                         ('--labels', args.labels)):
        if len(values) != len(args.checkpoints):
            parser.error(f'{name} needs one entry per checkpoint '
                         f'({len(args.checkpoints)}), got {len(values)}')
    for path in args.configs:
        if not osp.isfile(path):
            parser.error(f'config {path!r} not found')
    if args.window is not None and not args.ann_file:
        parser.error('--window is the crop around each object of '
                     '--ann-file: give --ann-file too')
    if args.ann_file and not osp.isfile(args.ann_file):
        parser.error(f'--ann-file {args.ann_file!r} not found')
    formats = Figure().canvas.get_supported_filetypes()  # not kept open
    if Path(args.out).suffix.lstrip('.').lower() not in formats:
        parser.error(f'--out {args.out!r}: the figure format comes from the '
                     f'extension, one of {", ".join(sorted(formats))}')
    if not osp.isdir(args.images):
        parser.error(f'--images {args.images!r} is not a folder')
    args.paths = sorted(p for p in Path(args.images).iterdir()
                        if p.suffix.lower() in ('.png', '.jpg', '.jpeg'))
    if not args.paths:
        parser.error(f'no .png/.jpg images in --images {args.images}')
    args.paths = args.paths[:args.max_images]
    args.outputs = {}  # backbone outputs by config, where the config says
    for config in dict.fromkeys(args.configs):
        args.outputs[config] = backbone_outputs(config)
        if args.outputs[config] is not None:
            try:
                check_stage(args.stage, args.outputs[config], config)
            except ValueError as err:
                parser.error(str(err))
    return args


def build(args, config, checkpoint):
    """The model of ``config`` with ``checkpoint`` and its images, after
    checking ``--stage`` against its backbone's outputs."""
    model, _ = init_model(config, checkpoint)
    images = load_images(args.paths, model, args.size)
    if args.outputs[config] is None:  # the config left out out_indices
        with torch.no_grad():
            outputs = model.eval().backbone(images[:1])
        if not isinstance(outputs, (tuple, list)):
            raise ValueError(f'the backbone of {config} returns a '
                             f'{type(outputs).__name__}, not a tuple of '
                             'outputs that --stage could choose from')
        check_stage(args.stage, len(outputs), config)
    return model, images


def main(argv=None):
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args(argv)
    configs, labels, paths = args.configs, args.labels, args.paths
    if args.ann_file:
        by_size(args, configs, labels, paths)
        return

    fig, axes = plt.subplots(1, len(args.checkpoints),
                             figsize=(3.2 * len(args.checkpoints) + 1, 3.4),
                             squeeze=False, layout='constrained')
    for ax, cfg, ckpt, label in zip(axes[0], configs, args.checkpoints,
                                    labels):
        model, images = build(args, cfg, ckpt)
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


def read_coco(ann_file) -> dict:
    """The COCO annotations in ``ann_file``; ``ValueError`` naming the file
    and what is wrong if it is empty, not JSON (a truncated file), or not
    an object with ``images`` and ``annotations`` lists of objects, each
    image with a ``file_name`` and an ``id``, each annotation with an
    ``image_id``."""
    text = Path(ann_file).read_text()
    what = ('expected COCO annotations: a JSON object with "images" and '
            '"annotations" lists')
    if not text.strip():
        raise ValueError(f'--ann-file {ann_file} is empty: {what}')
    try:
        coco = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f'--ann-file {ann_file} is not valid JSON ({err}; '
                         f'a truncated file?): {what}') from None
    if not isinstance(coco, dict):
        raise ValueError(f'--ann-file {ann_file} holds a JSON '
                         f'{type(coco).__name__}, not an object: {what}')
    for key, needed in (('images', ('file_name', 'id')),
                        ('annotations', ('image_id', ))):
        entries = coco.get(key)
        if not isinstance(entries, list):
            raise ValueError(f'--ann-file {ann_file} has no "{key}" list '
                             f'(keys: {sorted(coco)}): {what}')
        for i, entry in enumerate(entries):
            missing = [n for n in needed if not isinstance(entry, dict)
                       or n not in entry]
            if missing:
                raise ValueError(f'--ann-file {ann_file}: {key}[{i}] has no '
                                 f'{", ".join(missing)}: {what}')
    return coco


def check_image_entry(ann_file, img: dict, anns: list) -> None:
    """``ValueError`` naming the file and the image unless ``img`` has a
    positive integer width and height and each of ``anns`` a ``bbox`` of
    four finite numbers with width and height >= 0 (and an ``area`` >= 0
    if it has one)."""
    name = img['file_name']
    for key in ('width', 'height'):
        value = img.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or \
                value < 1:
            raise ValueError(f'--ann-file {ann_file}: image {name!r} has '
                             f'{key} {value!r}: width and height must be '
                             'positive integers (pixels)')
    for ann in anns:
        bbox, area = ann.get('bbox'), ann.get('area', 0)
        numbers = isinstance(bbox, list) and len(bbox) == 4 and all(
            isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)
        if not numbers or bbox[2] < 0 or bbox[3] < 0 or not (
                isinstance(area, (int, float)) and area >= 0):
            raise ValueError(
                f'--ann-file {ann_file}: annotation {ann.get("id")!r} of '
                f'image {name!r} has bbox {bbox!r} and area {area!r}: a bbox '
                'is [x, y, width, height] of finite numbers, width, height '
                'and area >= 0')


def image_objects(ann_file, paths, size):
    """Per image of ``paths``: ``(cx, cy, area)`` of its objects, the centre
    in pixels of the image resized to ``size`` square (as ``load_images``
    resizes it), the area as annotated (original pixels).

    Raises:
        ValueError: the annotation file is not COCO annotations (empty,
            truncated, not JSON, without ``images`` / ``annotations``
            lists: :func:`read_coco`), an image's entry or its objects are
            malformed (:func:`check_image_entry`), the file names another
            split (train, val, test) than the images' folder, an image is
            not in it, or an image's size is not the annotated one
            (annotations of other images of the same file name).
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
    coco = read_coco(ann_file)
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
        check_image_entry(ann_file, img, anns.get(img['id'], []))
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
    objects = image_objects(args.ann_file, paths, args.size)  # no model yet
    window = args.window or args.size
    fig, axes = plt.subplots(
        len(configs), len(COCO_SIZES), squeeze=False, layout='constrained',
        figsize=(3.2 * len(COCO_SIZES) + 1, 3.2 * len(configs)))
    for row, cfg, ckpt, label in zip(axes, configs, args.checkpoints, labels):
        model, images = build(args, cfg, ckpt)
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
