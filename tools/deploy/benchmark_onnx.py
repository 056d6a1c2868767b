"""onnxruntime latency of exported GMConv graphs against plain-conv graphs.

    python tools/deploy/benchmark_onnx.py [--threads 2] [--batch 1] \
        [--stem-batch 16] [--reps 20]

In one run, with the graphs timed in turn (round-robin, one call of each
per round, so drift in the machine's speed hits them all alike):

- ResNet-50 classifiers at 224x224: plain ResNet-50 against the folded
  S-GMConv ResNet-50 (every S-GMConv folded into a plain conv: goal 1.00x)
  and the GMConv ResNet-50 (D-GMConv stem in its exported form, folded
  S-GMConv body);
- the stem (3->64, 7x7, stride 2, 224x224): a plain ``nn.Conv2d`` against
  the exported D-GMConv layer (sigma predictor, mask and convolution).

Prints the median latency of each graph and its ratio to the plain one.
"""
import argparse
import os.path as osp
import platform
import statistics
import tempfile
from pathlib import Path

import onnxruntime as ort
import torch
from torch import nn
from torch.utils.benchmark import Timer

import mmgmconv  # noqa: F401  (registers GMConv)
from mmgmconv import DGMConv
from mmgmconv.apis import build_model_from_config
from mmgmconv.deploy import OrtGraph, export_onnx
from mmgmconv.deploy.onnx_export import export_graph

CONFIGS = Path(__file__).parents[2] / 'configs/classification/imagenet'
#: name -> (config, baseline name)
CLASSIFIERS = {
    'ResNet-50': ('resnet50_8xb32_in1k.py', None),
    'S-GMConv ResNet-50, folded': ('resnet50-sgmconv_8xb32_in1k.py',
                                   'ResNet-50'),
    'GMConv ResNet-50, folded body': ('resnet50-gmconv_8xb32_in1k.py',
                                      'ResNet-50'),
}


def stem_layers():
    """The paper's stem as a plain conv and as a D-GMConv whose predictor
    gives each image its own mask (the last FC is zero at init)."""
    torch.manual_seed(0)
    plain = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
    dgm = DGMConv(3, 64, 7, stride=2, padding=3, bias=False)
    with torch.no_grad():
        dgm.weight.copy_(plain.weight)
        dgm.sigma_predictor.fc2.weight.normal_(0, 0.5)
    return {'plain stem conv': (plain, None),
            'D-GMConv stem': (dgm, 'plain stem conv')}


def export_all(tmp, batch, stem_batch):
    """Export every graph; return ``{name: (path, input, baseline)}``."""
    graphs = {}
    for name, (config, base) in CLASSIFIERS.items():
        model = build_model_from_config(osp.join(CONFIGS, config)).eval()
        path = osp.join(tmp, f'{len(graphs)}.onnx')
        export_onnx(model, path, shape=(224, 224), batch=batch)
        graphs[name] = (path, torch.randn(batch, 3, 224, 224), base)
    for name, (layer, base) in stem_layers().items():
        path = osp.join(tmp, f'{len(graphs)}.onnx')
        x = torch.randn(stem_batch, 3, 224, 224)
        with torch.no_grad():
            export_graph(layer.eval(), x, path, ['output'], True)
        graphs[name] = (path, x, base)
    return graphs


def time_in_turn(graphs, threads, warmup, reps):
    """Median seconds per call of each graph, timed round-robin."""
    calls = {}
    for name, (path, x, _) in graphs.items():
        graph, array = OrtGraph(path, threads=threads), x.numpy()
        calls[name] = Timer('graph.run_numpy(array)',
                            globals=dict(graph=graph, array=array))
    times = {name: [] for name in graphs}
    for rep in range(warmup + reps):
        for name, timer in calls.items():
            seconds = timer.timeit(1).median
            if rep >= warmup:
                times[name].append(seconds)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--threads', type=int, default=2,
                        help='onnxruntime intra-op threads (default 2)')
    parser.add_argument('--batch', type=int, default=1,
                        help='batch of the ResNet-50 graphs (default 1)')
    parser.add_argument('--stem-batch', type=int, default=16,
                        help='batch of the stem graphs (default 16)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--reps', type=int, default=20)
    args = parser.parse_args()
    if min(args.threads, args.batch, args.stem_batch, args.reps) < 1 or \
            args.warmup < 0:
        parser.error('--threads, --batch, --stem-batch and --reps must be '
                     'positive and --warmup non-negative')
    with tempfile.TemporaryDirectory() as tmp:
        graphs = export_all(tmp, args.batch, args.stem_batch)
        medians = time_in_turn(graphs, args.threads, args.warmup, args.reps)
    print(f'onnxruntime {ort.__version__}, CPU ({platform.machine()}), '
          f'{args.threads} threads; medians of {args.reps} round-robin '
          f'repeats after {args.warmup} warm-up rounds\n')
    print('| graph | input | latency (ms) | ratio to plain |\n|---|---|---|---|')
    for name, (_, x, base) in graphs.items():
        ratio = f'{medians[name] / medians[base]:.2f}x' if base else '1.00x'
        print(f'| {name} | {tuple(x.shape)} | {1e3 * medians[name]:.1f} | '
              f'{ratio} |')


if __name__ == '__main__':
    main()
