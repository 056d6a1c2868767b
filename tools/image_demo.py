"""Draw a trained model's predictions on images and print them.

    python tools/image_demo.py IMAGE_OR_DIR [IMAGE_OR_DIR ...] CONFIG \
        --weights CKPT [--out-dir DIR] [--score-thr T] [--device cpu] \
        [--max-pixels N]

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
mismatched keys. Class names come from the checkpoint or else the config's
test dataset (``mmgmconv.apis.load_weights``), never a toolbox's default.

Output names: an image's outputs are named after its file name (``vis/``
keeps the detection input's name, ``preds/NAME.json``; a classification
drawing is ``vis/NAME.png``). Where inputs from different folders (or of
different formats) share a file name, each of them is named after its path
relative to the folder all inputs lie in, ``/`` written as ``__`` and the
suffix kept as ``_EXT`` where that is needed to tell them apart:
``a/img.png`` and ``b/img.png`` give ``vis/a__img.png`` and
``vis/b__img.png``. Every output file is complete under its name (written
aside, then renamed).

The demo never writes into the folder of an input image (for a link, the
link's folder and that of the file it resolves to): an ``--out-dir`` that
is, or whose ``vis/`` or ``preds/`` is, such a folder is refused. An
image of more than ``--max-pixels`` pixels (default 4096 x 4096) is
refused before it is decoded: its size is read from the file header, while
decoding and drawing keep several full-size copies in memory (an 8000 x
8000 image takes gigabytes). The limit is ours; raise it with
``--max-pixels``.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.runner import CheckpointLoader
from PIL import Image

from mmgmconv.apis import load_weights
from mmgmconv.atomic_write import sync_and_replace
from mmgmconv.checkpoint_safety import install_checkpoint_policy

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
#: Default of --max-pixels: a 4096 x 4096 image.
MAX_PIXELS = 4096 * 4096


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
    parser.add_argument(
        '--max-pixels', type=int, default=MAX_PIXELS,
        help='refuse an image of more pixels, before decoding it (default '
        '%(default)s = 4096 x 4096)')
    args = parser.parse_args()
    if args.max_pixels < 1:
        parser.error(f'--max-pixels must be a positive int, got '
                     f'{args.max_pixels}')
    return args


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


def check_image_sizes(files, max_pixels):
    """Raise naming the first image of more than ``max_pixels`` pixels.

    PIL reads the size from the file header; nothing is decoded.
    """
    for path in files:
        try:
            with warnings.catch_warnings():
                # our limit replaces PIL's decompression-bomb check
                warnings.simplefilter('ignore', Image.DecompressionBombWarning)
                limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
                try:
                    with Image.open(path) as img:
                        width, height = img.size
                finally:
                    Image.MAX_IMAGE_PIXELS = limit
        except OSError as err:
            raise ValueError(f'{path}: cannot read the image size from its '
                             f'header ({err})') from None
        if width * height > max_pixels:
            raise ValueError(
                f'{path} is {width} x {height} = {width * height} pixels, '
                f'more than --max-pixels {max_pixels}: decoding and drawing '
                'it would keep several full-size copies in memory. Downsize '
                'it, or raise --max-pixels if the memory is there')


def check_out_dir(files, out_dir):
    """Refuse an ``out_dir`` that is, or whose ``vis/`` or ``preds/`` is,
    the folder of an input image: the folder it is listed in and, each
    input resolved (``os.path.realpath``: links followed), the folder of
    the file itself. Outputs are renamed into place, which replaces a link
    at the output's name rather than the file it points to: an output
    folder that holds no input's file cannot overwrite one."""
    input_dirs = {}  # resolved folder: (input, the file it resolves to)
    for f in files:
        for folder in (osp.realpath(osp.dirname(osp.abspath(f))),
                       osp.dirname(osp.realpath(f))):
            input_dirs.setdefault(folder, (f, osp.realpath(f)))
    for folder in (out_dir, osp.join(out_dir, 'vis'),
                   osp.join(out_dir, 'preds')):
        if osp.realpath(folder) in input_dirs:
            path, real = input_dirs[osp.realpath(folder)]
            raise ValueError(
                f'--out-dir {out_dir}: {folder} holds input images ({path}, '
                f'resolved: {real}), and the demo never writes into an input '
                'folder (the drawings would replace same-named inputs). '
                'Choose another --out-dir')


def output_names(files):
    """A distinct output name (no suffix) per input path, see the module
    docstring: the file name, or the path relative to the inputs' common
    folder where file names are shared."""
    stems = [Path(f).stem for f in files]
    if len(set(stems)) == len(stems):
        return stems
    real = [osp.realpath(f) for f in files]
    common = osp.commonpath([osp.dirname(r) for r in real])
    names = []
    for path, real_path, stem in zip(files, real, stems):
        if stems.count(stem) == 1:
            names.append(stem)
            continue
        rel = osp.splitext(osp.relpath(real_path, common))[0]
        names.append(rel.replace(os.sep, '__'))
    shared = {n for n in names if names.count(n) > 1}  # folder and stem
    names = [n + '_' + Path(path).suffix.lstrip('.').lower()
             if n in shared else n for n, path in zip(names, files)]
    if len(set(names)) != len(names):
        raise ValueError('inputs whose outputs cannot be told apart: ' +
                         ', '.join(map(str, files)))
    return names


def move_output(produced, out_dir, sub, name):
    """Move a file the inferencer wrote aside to ``out_dir/sub/name``."""
    os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    sync_and_replace(produced, osp.join(out_dir, sub, name))


def strict_inferencer(inferencer_cls, args):
    """A subclass of the toolbox's ``inferencer_cls`` whose weights must
    match the model exactly and whose class names come from the checkpoint
    or else the config (:func:`mmgmconv.apis.load_weights`).

    mmdet's and mmseg's inferencers load the weights with ``strict=False``
    (a wrong checkpoint would silently give a partly random model) and
    label a checkpoint without class names with COCO's / Cityscapes'. We
    load strictly first; the toolbox's loader then reads the class names
    we resolved, and its palette.
    """

    class StrictInferencer(inferencer_cls):

        def _load_weights_to_model(self, model, checkpoint, cfg):
            dataset_meta = load_weights(model, checkpoint, args.weights,
                                        args.config)
            require_classes(dataset_meta, args)
            meta = dict(checkpoint.get('meta') or {},
                        dataset_meta=dataset_meta)
            super()._load_weights_to_model(model, dict(checkpoint, meta=meta),
                                           cfg)

    return StrictInferencer


def require_classes(dataset_meta, args):
    """Refuse to print labels that no class name stands for."""
    if not dataset_meta.get('classes'):
        raise ValueError(
            f'neither checkpoint {args.weights} (meta.dataset_meta.classes) '
            f'nor the test dataset of {args.config} names the classes: add '
            'metainfo=dict(classes=(...)) to its test_dataloader.dataset')


def detect(args, files, names, scratch):
    from mmdet.apis import DetInferencer

    thr = 0.3 if args.score_thr is None else args.score_thr
    if not 0 <= thr <= 1:
        raise ValueError(f'--score-thr must lie in [0, 1], got {thr}')
    inferencer = strict_inferencer(DetInferencer, args)(
        args.config, args.weights, device=args.device, show_progress=False)
    classes = inferencer.model.dataset_meta['classes']
    predictions = []
    for path, name in zip(files, names):
        # mmdet names outputs after the input file: one image at a time
        # into a scratch folder, then under the name of our choice
        pred = inferencer([path], pred_score_thr=thr, out_dir=scratch,
                          no_save_pred=False)['predictions'][0]
        base = osp.basename(path)
        move_output(osp.join(scratch, 'vis', base), args.out_dir, 'vis',
                    name + osp.splitext(base)[1])
        move_output(osp.join(scratch, 'preds', Path(path).stem + '.json'),
                    args.out_dir, 'preds', name + '.json')
        predictions.append(pred)
    for path, pred in zip(files, predictions):
        kept = [(s, label, box) for s, label, box in zip(
            pred['scores'], pred['labels'], pred['bboxes']) if s >= thr]
        print(f'{path}: {len(kept)} detection(s) with score >= {thr}')
        for score, label, box in kept:
            print(f'  {classes[label]:<12} {score:.3f}  '
                  f'[{", ".join(f"{v:.1f}" for v in box)}]')


def classify(args, files, names, scratch):
    from mmpretrain.apis import ImageClassificationInferencer, get_model
    from mmpretrain.utils import progress

    # rich's bar ends without a newline when stdout is not a terminal,
    # which would glue it to the first printed prediction
    progress.disable_progress_bar = not sys.stdout.isatty()

    if args.score_thr is not None:
        raise ValueError('--score-thr applies to detection configs only; '
                         f'{args.config} is a classification config')
    # mmpretrain's inferencer takes the config from the model get_model
    # builds
    model = get_model(args.config, pretrained=False)
    dataset_meta = load_weights(
        model, CheckpointLoader.load_checkpoint(args.weights,
                                                map_location='cpu'),
        args.weights, args.config)
    require_classes(dataset_meta, args)
    inferencer = ImageClassificationInferencer(
        model, pretrained=False, device=args.device,
        classes=dataset_meta['classes'])
    results = []
    for path, name in zip(files, names):
        # mmpretrain names the drawing after the input: see detect()
        results += inferencer([path], show_dir=osp.join(scratch, 'vis'))
        move_output(osp.join(scratch, 'vis', Path(path).stem + '.png'),
                    args.out_dir, 'vis', name + '.png')
    for path, pred in zip(files, results):
        print(f'{path}: {pred.get("pred_class", pred["pred_label"])} '
              f'({pred["pred_score"]:.3f})')


def segment(args, files, names, scratch):
    from mmseg.apis import MMSegInferencer

    if args.score_thr is not None:
        raise ValueError('--score-thr applies to detection configs only; '
                         f'{args.config} is a segmentation config')
    inferencer = strict_inferencer(MMSegInferencer, args)(
        args.config, args.weights, device=args.device)
    classes = inferencer.model.dataset_meta['classes']
    masks = []
    for path, name in zip(files, names):
        # mmseg names the drawing after the input and the mask after a
        # counter: see detect()
        masks.append(inferencer([path], out_dir=scratch,
                                pred_out_dir='preds')['predictions'])
        base = osp.basename(path)
        move_output(osp.join(scratch, 'vis', base), args.out_dir, 'vis',
                    name + osp.splitext(base)[1])
        (mask_file, ) = os.listdir(osp.join(scratch, 'preds'))
        move_output(osp.join(scratch, 'preds', mask_file), args.out_dir,
                    'preds', name + '.png')
    for path, mask in zip(files, masks):
        labels, counts = np.unique(mask, return_counts=True)
        shares = ', '.join(f'{classes[label]} {count / mask.size:.1%}'
                           for label, count in zip(labels, counts))
        print(f'{path}: {shares}')


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    files = image_files(args.inputs)
    check_image_sizes(files, args.max_pixels)
    check_out_dir(files, args.out_dir)
    names = output_names(files)
    scope = Config.fromfile(args.config).get('default_scope')
    tasks = dict(mmdet=detect, mmpretrain=classify, mmseg=segment)
    if scope not in tasks:
        raise ValueError(f'{args.config} has default_scope={scope!r}; this '
                         'demo takes mmdet, mmpretrain or mmseg configs')
    os.makedirs(args.out_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix='.image_demo-', dir=args.out_dir)
    try:
        tasks[scope](args, files, names, scratch)
    finally:
        shutil.rmtree(scratch)
    print(f'drawn predictions: {osp.join(args.out_dir, "vis")}')


if __name__ == '__main__':
    main()
