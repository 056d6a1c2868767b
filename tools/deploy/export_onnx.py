"""Export a GMConv classifier or detector to ONNX (standard operators only).

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--shape H W] [--opset N] [--verify]

Loads CHECKPOINT strictly, folds every S-GMConv into a plain conv and
exports with dynamic batch, height and width. A classifier becomes one
graph (normalised image -> logits). A detector becomes the dense graph
OUT.onnx (normalised padded image -> neck features and the RPN / dense
head's raw outputs) and, for two-stage detectors, one graph per RoI box
head (OUT.roi_head.bbox_head.onnx: RoI features -> class scores and box
deltas); anchors, decoding, NMS and RoIAlign are left to mmdet's code
(tools/deploy/onnx_test.py). ``--verify`` runs onnxruntime at another batch
size and image size than the export's and prints the largest absolute
difference to the PyTorch model (before folding).
"""
import argparse
import sys


import mmgmconv  # noqa: F401  (registers GMConv and the safe ckpt types)
from mmgmconv.apis import init_model
from mmgmconv.deploy import export_onnx
from mmgmconv.deploy.onnx_verify import max_abs_diff


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224],
                        metavar=('H', 'W'),
                        help='example input size (default 224 224)')
    parser.add_argument('--batch', type=int, default=2,
                        help='example batch size (default 2)')
    parser.add_argument('--opset', type=int, default=17,
                        help='ONNX opset version (default 17)')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch at batch '
                        'BATCH+1 and size (H+32, W+32)')
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='--verify fails above this difference')
    args = parser.parse_args()
    if min(args.shape) < 1 or args.batch < 1:
        parser.error(f'--shape and --batch must be positive, got '
                     f'{args.shape} and {args.batch}')
    if not args.out.endswith('.onnx'):
        parser.error(f'OUT must end in .onnx, got {args.out!r}')
    return args


def main():
    args = parse_args()
    model, _ = init_model(args.config, args.checkpoint)
    paths = export_onnx(model, args.out, shape=tuple(args.shape),
                        batch=args.batch, opset=args.opset)
    print('written: ' + ', '.join(paths))
    if args.verify:
        batch, shape = args.batch + 1, (args.shape[0] + 32,
                                        args.shape[1] + 32)
        diff = max_abs_diff(model, args.out, shape, batch)
        print(f'onnxruntime vs PyTorch at batch {batch}, {shape[0]}x'
              f'{shape[1]}: max abs difference {diff:.3g}')
        if not diff <= args.atol:
            sys.exit(f'max abs difference {diff:.3g} exceeds --atol '
                     f'{args.atol:g}')


if __name__ == '__main__':
    main()
