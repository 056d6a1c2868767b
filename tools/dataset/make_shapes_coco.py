"""Generate the embedded demo dataset under data/shapes_coco: COCO boxes
(annotations/) and semantic masks (masks/)."""
import argparse

from mmgmconv.datasets import make_shapes_coco


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--root', default='data/shapes_coco')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    root = make_shapes_coco(args.root, args.num_train, args.num_val,
                            seed=args.seed)
    print(f'shapes dataset ready in {root}')


if __name__ == '__main__':
    main()
