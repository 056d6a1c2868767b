"""How large is an SGD step on an S-GMConv sigma, against float32's spacing?

    python tools/analysis/sigma_update_size.py [CONFIG] [--batch 4]
        [--size 224] [--batches 4] [--lrs 0.1 0.001] [--seed 0]

Builds CONFIG's classifier (default: the paper's GMConv ResNet-50 on
ImageNet, randomly initialised, in training mode), and on ``--batches``
batches of random images with random labels takes the cross-entropy's
gradient with respect to every S-GMConv sigma. Prints, per stage, the
median ``|dL/dsigma|`` over layers and batches and the step it implies at
each learning rate of ``--lrs``: ``lr * |g|`` for plain SGD, and
``lr * |g| / (1 - momentum)`` for a gradient that keeps its sign under the
config's momentum (the largest an SGD-with-momentum step gets); next to
float32's half-spacing at the layer's sigma (a smaller update rounds away)
and the config's weight-decay step ``lr * wd * sigma``.

An estimate: the gradients of a network at initialisation on random data,
at a small batch (the batch's mean gradient; at the paper's batch of 256
the noise in it averages down, so the step is smaller).
"""
import argparse
import statistics
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.ops import SGMConv, named_gmconv_layers

DEFAULT_CONFIG = ('configs/classification/imagenet/'
                  'resnet50-gmconv_8xb32_in1k.py')


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help='an mmpretrain GMConv classifier config '
                        '(default %(default)s)')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batches', type=int, default=4)
    parser.add_argument('--lrs', type=float, nargs='+', default=[0.1, 0.001])
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for name in ('batch', 'size', 'batches'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    return args


def sigma_gradients(model, batch, size, batches, num_classes):
    """``{layer name: [|dL/dsigma| per batch]}`` and ``{name: sigma}``."""
    layers = {n: m for n, m in named_gmconv_layers(model)
              if isinstance(m, SGMConv)}
    if not layers:
        raise ValueError('the model has no S-GMConv layer with a sigma')
    grads = defaultdict(list)
    model.train()
    for _ in range(batches):
        model.zero_grad(set_to_none=True)
        images = torch.randn(batch, 3, size, size)
        labels = torch.randint(num_classes, (batch, ))
        F.cross_entropy(model(images, mode='tensor'), labels).backward()
        for name, layer in layers.items():
            grads[name].append(layer.sigma.grad.abs().item())
    sigmas = {n: m.sigma.detach().abs().item() for n, m in layers.items()}
    return grads, sigmas


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    torch.manual_seed(args.seed)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    model = MODELS.build(cfg.model)
    optimizer = cfg.optim_wrapper.optimizer
    momentum = optimizer.get('momentum', 0.0)
    wd = optimizer.get('weight_decay', 0.0)
    grads, sigmas = sigma_gradients(model, args.batch, args.size,
                                    args.batches,
                                    cfg.model.head.num_classes)
    stages = defaultdict(list)
    for name, values in grads.items():
        stage = next((p for p in name.split('.') if p.startswith('layer')),
                     'other')
        stages[stage] += values
    print(f'{args.config}: {len(grads)} S-GMConv layers, random init, '
          f'{args.batches} batches of {args.batch} random {args.size}x'
          f'{args.size} images; momentum {momentum}, weight decay {wd}\n')
    header = '| stage | median \\|dL/dsigma\\| |'
    for lr in args.lrs:
        header += (f' step at lr {lr:g} (SGD; with momentum) |'
                   f' decay step at lr {lr:g} |')
    print(header + ' float32 half-spacing at sigma |')
    print('|---' * (2 + 2 * len(args.lrs) + 1) + '|')
    sigma = statistics.median(sigmas.values())
    half_spacing = float(np.spacing(np.float32(sigma))) / 2
    for stage, values in stages.items():
        g = statistics.median(values)
        row = f'| {stage} | {g:.2e} |'
        for lr in args.lrs:
            row += (f' {lr * g:.1e}; {lr * g / (1 - momentum):.1e} |'
                    f' {lr * wd * sigma:.1e} |')
        print(row + f' {half_spacing:.2e} (sigma {sigma:g}) |')


if __name__ == '__main__':
    main()
