"""Params and FLOPs of a config's model before and after folding GMConv.

    python tools/analysis/get_flops.py CONFIG [--shape H W] [--out X.json]

Counts with mmengine's complexity analyser on one image (the detector's
backbone and neck, the classifier's whole network). After folding, S-GMConv
layers are plain convs: the paper's claim is that the folded network has
the plain network's parameters and FLOPs; what is left is the D-GMConv
sigma predictor (its input-dependent mask cannot be folded).
"""
import argparse

from mmgmconv import fuse_gmconv
from mmgmconv.analysis import complexity, is_detector
from mmgmconv.apis import build_model_from_config
from mmgmconv.atomic_write import dump_json_atomically
from mmgmconv.checkpoint_safety import install_checkpoint_policy


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: 224x224, or 800x1333 '
                        'for a detector)')
    parser.add_argument('--out', help='write the numbers as JSON here')
    args = parser.parse_args()

    model = build_model_from_config(args.config)
    default = (800, 1333) if is_detector(model) else (224, 224)
    shape = (3, *(args.shape or default))
    before = complexity(model, shape)
    after = complexity(fuse_gmconv(model), shape)
    plain = after['params'] - after['gmconv_params']
    print(f'{args.config}, input {shape}\n\n'
          '| | params (M) | GMConv-only params | FLOPs (G) |\n'
          '|---|---|---|---|')
    for name, r in (('as trained', before), ('folded', after)):
        print(f"| {name} | {r['params'] / 1e6:.4f} | {r['gmconv_params']} | "
              f"{r['flops'] / 1e9:.4f} |")
    print(f'\nplain network: {plain / 1e6:.4f} M params; folded model has '
          f"{after['gmconv_params']} params more (D-GMConv predictors)")
    if args.out:
        dump_json_atomically(dict(config=args.config, shape=shape,
                                  before=before, after=after), args.out,
                             indent=2)


if __name__ == '__main__':
    main()
