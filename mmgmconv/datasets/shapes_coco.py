"""A small synthetic dataset: the embedded demo data, for detection (COCO
format) and semantic segmentation (label masks).

Each image shows 1 to 4 filled shapes (square, disc, triangle) of random
size, colour and position on a noisy, textured background. Generation is
deterministic (one seed), takes a few seconds and needs no download.
"""
import os.path as osp
from pathlib import Path

import cv2
import numpy as np

from ..atomic_write import dump_json_atomically

CLASSES = ('square', 'disc', 'triangle')
#: Classes of the semantic masks: pixel value ``i`` is ``SEG_CLASSES[i]``.
SEG_CLASSES = ('background', ) + CLASSES
#: Colours (RGB) mmseg's visualiser draws the ``SEG_CLASSES`` in.
SEG_PALETTE = ((0, 0, 0), (230, 25, 75), (60, 180, 75), (0, 130, 200))


def _draw_shape(img, label, x0, y0, size, colour, line_type=cv2.LINE_AA):
    """Draw shape ``label`` in the box ``(x0, y0, size, size)``; its bbox.

    Masks are drawn with ``line_type=cv2.LINE_8``: anti-aliasing would
    blend label values into other labels along the edges.
    """
    x1, y1 = x0 + size, y0 + size
    if label == 0:
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), colour, -1)
    elif label == 1:
        cv2.circle(img, (x0 + size // 2, y0 + size // 2), size // 2, colour,
                   -1, lineType=line_type)
    else:
        pts = np.array([[x0 + size // 2, y0], [x0, y1 - 1], [x1 - 1, y1 - 1]])
        cv2.fillPoly(img, [pts.astype(np.int32)], colour, lineType=line_type)
    return [float(x0), float(y0), float(size), float(size)]


def _make_image(rng, img_size):
    """An image, its boxes and labels, and its semantic mask (uint8, pixel
    value ``label + 1`` where a shape is visible, 0 elsewhere)."""
    base = rng.integers(40, 200, size=3)
    noise = rng.normal(0, 18, size=(img_size // 8, img_size // 8, 3))
    texture = cv2.resize(noise, (img_size, img_size))
    img = np.clip(base + texture + rng.normal(0, 6, (img_size, img_size, 3)),
                  0, 255).astype(np.uint8)
    mask = np.zeros((img_size, img_size), np.uint8)
    boxes, labels = [], []
    for _ in range(rng.integers(1, 5)):
        size = int(rng.integers(img_size // 8, img_size // 2.5))
        x0, y0 = (int(v) for v in rng.integers(0, img_size - size, size=2))
        # skip shapes that would hide more than a third of an earlier one
        if any(_overlap([x0, y0, size, size], b) > 0.33 for b in boxes):
            continue
        label = int(rng.integers(len(CLASSES)))
        colour = tuple(int(c) for c in (base + rng.choice([-1, 1], 3) *
                                        rng.integers(60, 120, 3)) % 256)
        boxes.append(_draw_shape(img, label, x0, y0, size, colour))
        _draw_shape(mask, label, x0, y0, size, label + 1, cv2.LINE_8)
        labels.append(label)
    return img, boxes, labels, mask


def _overlap(a, b):
    """Intersection over the area of ``b``; boxes are ``[x, y, w, h]``."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(iw, 0) * max(ih, 0) / (b[2] * b[3])


def make_shapes_coco(root, num_train=400, num_val=100, img_size=128, seed=0):
    """Write ``root/{train,val}/*.png``, ``root/annotations/*.json`` (COCO
    boxes) and ``root/masks/{train,val}/*.png`` (semantic masks, classes
    :data:`SEG_CLASSES`; same file names as the images).

    Skips the work if the annotation files and both mask folders exist
    (a dataset written before the masks existed is written again, with the
    same images). Returns ``root``.
    """
    root = Path(root)
    splits = dict(train=num_train, val=num_val)
    if all((root / f'annotations/instances_{s}.json').exists()
           and (root / 'masks' / s / f'{n:05d}.png').exists()
           for s, n in splits.items()):
        return root
    rng = np.random.default_rng(seed)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    for split, count in splits.items():
        (root / split).mkdir(exist_ok=True)
        (root / 'masks' / split).mkdir(parents=True, exist_ok=True)
        images, anns = [], []
        for img_id in range(1, count + 1):
            img, boxes, labels, mask = _make_image(rng, img_size)
            name = f'{img_id:05d}.png'
            cv2.imwrite(str(root / split / name), img)
            cv2.imwrite(str(root / 'masks' / split / name), mask)
            images.append(dict(id=img_id, file_name=name, width=img_size,
                               height=img_size))
            for box, label in zip(boxes, labels):
                anns.append(dict(id=len(anns) + 1, image_id=img_id,
                                 category_id=label + 1, bbox=box,
                                 area=box[2] * box[3], iscrowd=0))
        categories = [dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]
        # written last and atomically: its presence means a complete split
        dump_json_atomically(
            dict(images=images, annotations=anns, categories=categories),
            osp.join(root, f'annotations/instances_{split}.json'))
    return root
