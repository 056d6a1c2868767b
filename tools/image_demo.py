"""Draw a trained model's predictions on images and print them.

    python tools/image_demo.py IMAGE_OR_DIR [IMAGE_OR_DIR ...] CONFIG \
        --weights CKPT [--out-dir DIR] [--score-thr T] [--device cpu]

A detection config goes through mmdet's ``DetInferencer`` (as mmdet's
demo/image_demo.py): each image's boxes with a score of at least
``--score-thr`` are printed and drawn into ``DIR/vis/``, and all its boxes
are saved as JSON in ``DIR/preds/``. A classification config goes through
mmpretrain's ``ImageClassificationInferencer``: the predicted class is
printed and drawn into ``DIR/vis/``. A segmentation config goes through
mmseg's ``MMSegInferencer`` (mmseg's visualiser): each image's predicted
classes and their share of its pixels are printed, the coloured mask is
drawn into ``DIR/vis/`` and the label mask saved in ``DIR/pred/``. The
weights are loaded strictly: a
checkpoint that does not match the config is an error listing the
mismatched keys.
"""
import argparse
import os
import os.path as osp
import sys
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint_to_model

import mmgmconv  # noqa: F401  (registers GMConv and the safe ckpt types)
from mmgmconv.apis import checkpoint_mismatch

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('inputs', nargs='+', metavar='IMAGE_OR_DIR',
                        help='image files or folders of images')
    parser.add_argument('config', help='detection, classification or '
                        'segmentation config')
    parser.add_argument('--weights', required=True,
                        help='checkpoint: a local file or a URL')
    parser.add_argument('--out-dir', default='work_dirs/image_demo',
                        help='where vis/ (and preds/) go')
    parser.add_argument(
        '--score-thr', '--pred-score-thr', type=float, help='detection '
        'only: smallest score of a box to print and draw (default 0.3)')
    parser.add_argument('--device', help='e.g. cpu, cuda:0 (default: a GPU '
                        'if there is one)')
    return parser.parse_args()


def image_files(inputs):
    """The image files named by ``inputs`` (folders: their images, sorted)."""
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir()
                           if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise FileNotFoundError(
                    f'no image ({", ".join(IMAGE_SUFFIXES)}) in {item}')
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f'{item} is neither an image file nor a '
                                    'folder')
    return [str(f) for f in files]


def detect(args, files):
    from mmdet.apis import DetInferencer

    class StrictDetInferencer(DetInferencer):
        """``DetInferencer`` whose weights must match the model exactly.

        mmdet loads them with ``strict=False``, so a wrong checkpoint would
        silently give a partly random detector. We load strictly first;
        mmdet's loader then reads the class names and palette.
        """

        def _load_weights_to_model(self, model, checkpoint, cfg):
            try:
                _load_checkpoint_to_model(model, checkpoint, strict=True)
            except RuntimeError as err:
                raise checkpoint_mismatch(args.weights, args.config,
                                          err) from None
            super()._load_weights_to_model(model, checkpoint, cfg)

    thr = 0.3 if args.score_thr is None else args.score_thr
    if not 0 <= thr <= 1:
        raise ValueError(f'--score-thr must lie in [0, 1], got {thr}')
    inferencer = StrictDetInferencer(args.config, args.weights,
                                     device=args.device, show_progress=False)
    classes = inferencer.model.dataset_meta['classes']
    results = inferencer(files, pred_score_thr=thr, out_dir=args.out_dir,
                         no_save_pred=False)
    for path, pred in zip(files, results['predictions']):
        kept = [(s, label, box) for s, label, box in zip(
            pred['scores'], pred['labels'], pred['bboxes']) if s >= thr]
        print(f'{path}: {len(kept)} detection(s) with score >= {thr}')
        for score, label, box in kept:
            print(f'  {classes[label]:<12} {score:.3f}  '
                  f'[{", ".join(f"{v:.1f}" for v in box)}]')


def classify(args, files):
    from mmengine.runner import load_checkpoint
    from mmpretrain.apis import ImageClassificationInferencer, get_model
    from mmpretrain.utils import progress

    # rich's bar ends without a newline when stdout is not a terminal,
    # which would glue it to the first printed prediction
    progress.disable_progress_bar = not sys.stdout.isatty()

    if args.score_thr is not None:
        raise ValueError('--score-thr applies to detection configs only; '
                         f'{args.config} is a classification config')
    model = get_model(args.config, pretrained=False)  # sets dataset_meta
    try:
        ckpt = load_checkpoint(model, args.weights, map_location='cpu',
                               strict=True)
    except RuntimeError as err:
        raise checkpoint_mismatch(args.weights, args.config, err) from None
    model._dataset_meta = ckpt.get('meta', {}).get('dataset_meta',
                                                   model._dataset_meta)
    inferencer = ImageClassificationInferencer(model, pretrained=False,
                                               device=args.device)
    os.makedirs(osp.join(args.out_dir, 'vis'), exist_ok=True)
    results = inferencer(files, show_dir=osp.join(args.out_dir, 'vis'))
    for path, pred in zip(files, results):
        print(f'{path}: {pred.get("pred_class", pred["pred_label"])} '
              f'({pred["pred_score"]:.3f})')


def segment(args, files):
    from mmseg.apis import MMSegInferencer

    class StrictSegInferencer(MMSegInferencer):
        """``MMSegInferencer`` whose weights must match the model exactly
        (mmseg loads them with ``strict=False``); mmseg's loader then reads
        the class names and palette."""

        def _load_weights_to_model(self, model, checkpoint, cfg):
            try:
                _load_checkpoint_to_model(model, checkpoint, strict=True)
            except RuntimeError as err:
                raise checkpoint_mismatch(args.weights, args.config,
                                          err) from None
            super()._load_weights_to_model(model, checkpoint, cfg)

    if args.score_thr is not None:
        raise ValueError('--score-thr applies to detection configs only; '
                         f'{args.config} is a segmentation config')
    inferencer = StrictSegInferencer(args.config, args.weights,
                                     device=args.device)
    classes = inferencer.model.dataset_meta['classes']
    results = inferencer(files, out_dir=args.out_dir)
    masks = results['predictions']
    for path, mask in zip(files, masks if len(files) > 1 else [masks]):
        labels, counts = np.unique(mask, return_counts=True)
        shares = ', '.join(f'{classes[label]} {count / mask.size:.1%}'
                           for label, count in zip(labels, counts))
        print(f'{path}: {shares}')


def main():
    args = parse_args()
    files = image_files(args.inputs)
    scope = Config.fromfile(args.config).get('default_scope')
    if scope == 'mmdet':
        detect(args, files)
    elif scope == 'mmpretrain':
        classify(args, files)
    elif scope == 'mmseg':
        segment(args, files)
    else:
        raise ValueError(f'{args.config} has default_scope={scope!r}; this '
                         'demo takes mmdet, mmpretrain or mmseg configs')
    print(f'drawn predictions: {osp.join(args.out_dir, "vis")}')


if __name__ == '__main__':
    main()
