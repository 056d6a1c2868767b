"""Speed and memory of GMConv against plain conv and DCN.

    python tools/analysis/benchmark.py [--parts backbone faster-rcnn layer
        onnxruntime] [--threads 2] [--batch 8] [--out X.json]

The parts (``--parts``; all but ``onnxruntime`` by default):

- ``backbone``, ``faster-rcnn``: for a ResNet-50 backbone and for Faster
  R-CNN R50-FPN, each variant (StdConv, S-GMConv everywhere, S-GMConv
  folded, GMConv, GMConv folded, DCN L2-L4, GMConv-DCN) is timed: a training
  step (forward + backward) and inference, and the peak memory of a
  training step is measured in a fresh process.
- ``layer``: one D-GMConv layer, at the stem shape of the paper's networks
  (batch 16, 3->64, 7x7, stride 2, 224x224, image input) and at a body shape
  (batch 8, 64->64, 3x3, 56x56, input with gradient), on each of its
  computation paths and on the one it chooses (``impl='auto'``), against
  ``nn.Conv2d`` of the same shape, forward (inference) and forward +
  backward.
- ``layer-nd``: the 1D and 3D GMConv layers against ``nn.Conv1d`` /
  ``nn.Conv3d`` of the same shape (:data:`ND_LAYER_SHAPES`: a sequence
  stem and body conv, the stem and a body conv of torchvision's
  ``r3d_18``), forward and forward + backward: S-GMConv, S-GMConv folded
  (the plain conv it folds into: the same layer type, timed to show the
  run's noise), and D-GMConv on each of its paths and on the chosen one.
- ``onnxruntime``: the exported graphs in onnxruntime (CPU, ``--threads``
  intra-op threads): plain ResNet-50 against the folded S-GMConv ResNet-50
  (goal 1.00x) and the GMConv ResNet-50 (D-GMConv stem in its exported
  form, folded body), at ``--batch`` and ``--size``; and the stem shape: a
  plain conv against the exported D-GMConv layer (predictor, mask and
  convolution). Needs the ``deploy`` extra.

Timing is ``torch.utils.benchmark``'s (``Timer.blocked_autorange``, which
sets the threads and synchronises the GPU). What is compared is timed
round-robin in one process, one block of each in turn, ``--rounds`` times,
and the blocks are merged: drift in the machine's speed then hits all
alike. Everything is printed as ``Compare`` tables and as ratios to
StdConv / the plain conv from the same run. Runs on the GPU when there is
one (``--device``; onnxruntime always on the CPU).
"""
import argparse
import multiprocessing as mp
import os.path as osp
import platform
import tempfile
from functools import partial
from pathlib import Path

import torch
from torch.utils import benchmark

#: The paper's GMConv (configs/_base_/models/gmresnet_gmconv.py, its
#: default arguments): the GMConv ResNets have no default of their own.
PAPER_GMCONV_CFG = dict(
    stem=dict(type='DGMConv', pred_pattern='sigma1_ratio', sigma_init=5.0),
    body=dict(type='SGMConv', sigma_init=5.0))

ROOT = Path(__file__).resolve().parents[2]
DET_CONFIG = ROOT / 'configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py'
ALL = (True, ) * 5
DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
VARIANTS = {
    'StdConv': dict(),
    'S-GMConv': dict(gmconv_stages=ALL,
                     gmconv_cfg=dict(PAPER_GMCONV_CFG,
                                     stem=dict(type='SGMConv'))),
    'S-GMConv folded': dict(gmconv_stages=ALL,
                            gmconv_cfg=dict(PAPER_GMCONV_CFG,
                                            stem=dict(type='SGMConv'))),
    'GMConv': dict(gmconv_cfg=PAPER_GMCONV_CFG, gmconv_stages=ALL),
    'GMConv folded': dict(gmconv_cfg=PAPER_GMCONV_CFG, gmconv_stages=ALL),
    'DCN L2-L4': dict(dcn=DCN, stage_with_dcn=(False, True, True, True)),
    'GMConv-DCN': dict(gmconv_cfg=PAPER_GMCONV_CFG,
                       gmconv_stages=(True, True, False, False, False),
                       dcn=DCN, stage_with_dcn=(False, True, True, True)),
}
#: The D-GMConv layer shapes timed: the stem of the paper's networks (the
#: input is the image: no input gradient) and a ResNet layer1 conv.
LAYER_SHAPES = {
    'stem': dict(title='3->64, 7x7, stride 2, 224x224', batch=16,
                 size=224, input_grad=False,
                 conv=dict(in_channels=3, out_channels=64, kernel_size=7,
                           stride=2, padding=3)),
    'body': dict(title='64->64, 3x3, 56x56', batch=8, size=56,
                 input_grad=True,
                 conv=dict(in_channels=64, out_channels=64, kernel_size=3,
                           padding=1)),
}


#: The classifiers timed in onnxruntime: name -> (config, baseline name).
ORT_CLASSIFIERS = {
    'ResNet-50': ('resnet50_8xb32_in1k.py', None),
    'S-GMConv ResNet-50, folded': ('resnet50-sgmconv_8xb32_in1k.py',
                                   'ResNet-50'),
    'GMConv ResNet-50, folded body': ('resnet50-gmconv_8xb32_in1k.py',
                                      'ResNet-50'),
}
CLS_CONFIGS = ROOT / 'configs/classification/imagenet'
#: The 1D and 3D layer shapes timed (``--parts layer-nd``): a sequence
#: model's stem (a raw signal, no input gradient) and body conv, and the
#: stem and a layer2 conv of torchvision's r3d_18 at 8x112x112 clips.
ND_LAYER_SHAPES = {
    '1d stem': dict(title='1->64, 9, length 4096', batch=8,
                    size=(4096, ), input_grad=False,
                    conv=dict(in_channels=1, out_channels=64, kernel_size=9,
                              padding=4)),
    '1d body': dict(title='64->64, 9, length 1024', batch=8,
                    size=(1024, ), input_grad=True,
                    conv=dict(in_channels=64, out_channels=64, kernel_size=9,
                              padding=4)),
    '3d stem': dict(title='3->64, 3x7x7, stride 1x2x2, 8x112x112', batch=4,
                    size=(8, 112, 112), input_grad=False,
                    conv=dict(in_channels=3, out_channels=64,
                              kernel_size=(3, 7, 7), stride=(1, 2, 2),
                              padding=(1, 3, 3))),
    '3d body': dict(title='128->128, 3x3x3, 4x28x28', batch=4,
                    size=(4, 28, 28), input_grad=True,
                    conv=dict(in_channels=128, out_channels=128,
                              kernel_size=3, padding=1)),
}
PARTS = ('backbone', 'faster-rcnn', 'layer', 'layer-nd', 'onnxruntime')


def is_cuda(device):
    return torch.device(device).type == 'cuda'


def time_in_turn(fns, label, sub_label, args, min_run_time):
    """``{name: Measurement}`` of each ``fns[name]()``: one
    ``blocked_autorange`` of each in turn (round-robin) per round, merged
    over ``args.rounds`` rounds."""
    timers = {
        name: benchmark.Timer('fn()', globals=dict(fn=fn), label=label,
                              sub_label=sub_label, description=name,
                              num_threads=args.threads)
        for name, fn in fns.items()
    }
    runs = {name: [] for name in fns}
    for _ in range(args.rounds):
        for name, timer in timers.items():
            runs[name].append(timer.blocked_autorange(
                min_run_time=min_run_time))
    return {name: benchmark.Measurement.merge(m)[0]
            for name, m in runs.items()}


def _proc_status_mb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 2**10
    raise RuntimeError(f'{field} not in /proc/self/status')


def reset_peak_memory(device):
    """Start a new peak; return the memory in use now (MB)."""
    if is_cuda(device):
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM, the peak resident set (Linux >= 4.0)
    return _proc_status_mb('VmRSS')


def peak_memory_mb(device):
    if is_cuda(device):
        return torch.cuda.max_memory_allocated(device) / 2**20
    return _proc_status_mb('VmHWM')


def build(kind, variant):
    """The ResNet-50 backbone or Faster R-CNN of ``variant``."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmgmconv.toolboxes.mmdet  # noqa: F401  (registers GMResNet)
    init_default_scope('mmdet')
    cfg = dict(type='GMResNet', depth=50, norm_eval=False,
               **VARIANTS[variant])
    if kind == 'backbone':
        return MODELS.build(cfg)
    det = Config.fromfile(DET_CONFIG)
    det.model.backbone = dict(cfg, init_cfg=None)
    return MODELS.build(det.model)


def make_steps(kind, variant, args):
    """``(model, train_step, infer)`` closures for one variant."""
    from mmgmconv import fuse_gmconv
    torch.manual_seed(0)
    model = build(kind, variant).to(args.device)
    if variant.endswith('folded'):
        fuse_gmconv(model)
    if kind == 'backbone':
        x = torch.randn(args.batch, 3, args.size, args.size,
                        device=args.device)

        def train_step():
            model.zero_grad(set_to_none=True)
            sum(o.float().mean() for o in model(x)).backward()

        def infer():
            with torch.no_grad():
                model(x)
    else:
        from mmdet.testing import demo_mm_inputs
        data = demo_mm_inputs(batch_size=args.det_batch,
                              image_shapes=[(3, args.size, args.size)] *
                              args.det_batch, num_items=[3] * args.det_batch,
                              num_classes=80, device=args.device)
        data = model.data_preprocessor(data, True)

        def train_step():
            model.zero_grad(set_to_none=True)
            losses = model(**data, mode='loss')
            sum(v if torch.is_tensor(v) else sum(v)
                for k, v in losses.items() if 'loss' in k).backward()

        def infer():
            with torch.no_grad():
                model(data['inputs'], data['data_samples'], mode='predict')
    return model, train_step, infer


def time_round_robin(kind, args):
    """``Measurement`` of the train step and of inference of every
    variant, ``{phase: {variant: Measurement}}``."""
    steps = {v: make_steps(kind, v, args) for v in VARIANTS}
    result = {}
    for phase, index, mode in (('train step', 1, True),
                               ('inference', 2, False)):
        for model, *_ in steps.values():
            model.train(mode)
        # min_run_time 0: one untimed call (the block-size estimate) and
        # one timed call of each variant per round
        result[phase] = time_in_turn(
            {v: fns[index] for v, fns in steps.items()},
            f'ResNet-50 {kind}', phase, args, min_run_time=0)
    return result


def measure_memory(kind, variant, args, queue):
    """Child process: peak memory of one variant's training steps."""
    torch.set_num_threads(args.threads)
    model, train_step, _ = make_steps(kind, variant, args)
    model.train()
    base = reset_peak_memory(args.device)
    train_step()  # the first step: activations and gradient buffers
    queue.put(peak_memory_mb(args.device) - base)


def memory_isolated(kind, variant, args):
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=measure_memory,
                       args=(kind, variant, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def layer_forward(layer, x):
    with torch.no_grad():
        layer(x)


def layer_forward_backward(layer, x):
    layer(x).sum().backward()


def time_layers(layers, x, title, args):
    """Forward, and forward + backward, of each of ``layers`` on ``x``,
    timed in turn: ``{mode: {layer: Measurement}}``."""
    return {
        mode: time_in_turn(
            {name: partial(fn, layer.to(args.device), x)
             for name, layer in layers.items()},
            title, mode, args, min_run_time=args.layer_time)
        for mode, fn in (('forward', layer_forward),
                         ('forward + backward', layer_forward_backward))
    }


def dgmconv_layer(args):
    """D-GMConv on each path and on the chosen one against nn.Conv2d:
    ``{shape: {mode: {layer: Measurement}}}``."""
    from mmgmconv import DGMConv
    from mmgmconv.ops.dgm_conv import CONV_PATHS
    result = {}
    for shape, spec in LAYER_SHAPES.items():
        torch.manual_seed(0)
        batch = args.layer_batch or spec['batch']
        x = torch.randn(batch, spec['conv']['in_channels'],
                        spec['size'], spec['size'], device=args.device,
                        requires_grad=spec['input_grad'])
        chosen = DGMConv(**spec['conv'], bias=False)
        layers = {'plain conv': torch.nn.Conv2d(**spec['conv'], bias=False)}
        layers.update({f'D-GMConv {impl}':
                       DGMConv(**spec['conv'], bias=False, impl=impl)
                       for impl in CONV_PATHS})
        layers[f'D-GMConv chosen ({chosen.choose_path(x)})'] = chosen
        result[shape] = time_layers(
            layers, x, f'One layer, {shape}: batch {batch}, {spec["title"]}',
            args)
    return result


def gmconv_nd_layers(args):
    """The 1D / 3D GMConv layers against the plain conv of each shape of
    :data:`ND_LAYER_SHAPES`: ``{shape: {mode: {layer: Measurement}}}``."""
    from mmgmconv.ops import DGMConv1d, DGMConv3d, SGMConv1d, SGMConv3d
    from mmgmconv.ops.dgm_conv_nd import CONV_PATHS_ND
    classes = {1: (torch.nn.Conv1d, SGMConv1d, DGMConv1d),
               3: (torch.nn.Conv3d, SGMConv3d, DGMConv3d)}
    result = {}
    for shape, spec in ND_LAYER_SHAPES.items():
        torch.manual_seed(0)
        plain_cls, sgm_cls, dgm_cls = classes[len(spec['size'])]
        batch = args.layer_batch or spec['batch']
        x = torch.randn(batch, spec['conv']['in_channels'], *spec['size'],
                        device=args.device,
                        requires_grad=spec['input_grad'])
        sgm = sgm_cls(**spec['conv'], bias=False)
        chosen = dgm_cls(**spec['conv'], bias=False)
        layers = {'plain conv': plain_cls(**spec['conv'], bias=False),
                  'S-GMConv': sgm, 'S-GMConv folded': sgm.to_plain_conv()}
        layers.update({f'D-GMConv {impl}':
                       dgm_cls(**spec['conv'], bias=False, impl=impl)
                       for impl in CONV_PATHS_ND})
        layers[f'D-GMConv chosen ({chosen.choose_path(x)})'] = chosen
        result[shape] = time_layers(
            layers, x, f'One layer, {shape}: batch {batch}, {spec["title"]}',
            args)
    return result


def stem_layers(batch):
    """The paper's stem as a plain conv and as a D-GMConv whose predictor
    gives each image its own mask (its last FC is zero at init), and an
    image batch: ``({name: (layer, baseline name)}, x)``."""
    from mmgmconv import DGMConv
    spec = LAYER_SHAPES['stem']
    torch.manual_seed(0)
    plain = torch.nn.Conv2d(**spec['conv'], bias=False)
    dgm = DGMConv(**spec['conv'], bias=False)
    with torch.no_grad():
        dgm.weight.copy_(plain.weight)
        dgm.sigma_predictor.fc2.weight.normal_(0, 0.5)
    x = torch.randn(batch, spec['conv']['in_channels'], spec['size'],
                    spec['size'])
    return {'plain stem conv': (plain, None),
            'D-GMConv stem': (dgm, 'plain stem conv')}, x


def onnxruntime_graphs(args):
    """onnxruntime latency of each exported graph: ``({name: Measurement},
    {name: (input shape, baseline name)})``."""
    from mmgmconv.apis import build_model_from_config
    from mmgmconv.deploy import OrtGraph, export_onnx
    graphs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (config, base) in ORT_CLASSIFIERS.items():
            model = build_model_from_config(CLS_CONFIGS / config).eval()
            path = osp.join(tmp, f'{len(graphs)}.onnx')
            export_onnx(model, path, shape=(args.size, args.size),
                        batch=args.batch)
            graphs[name] = (path, torch.randn(args.batch, 3, args.size,
                                              args.size), base)
        layers, x = stem_layers(args.layer_batch or
                                LAYER_SHAPES['stem']['batch'])
        for name, (layer, base) in layers.items():
            path = osp.join(tmp, f'{len(graphs)}.onnx')
            export_onnx(layer.eval(), path, shape=tuple(x.shape[1:]),
                        batch=x.shape[0])
            graphs[name] = (path, x, base)
        runs = {
            name: partial(OrtGraph(path, threads=args.threads).run_numpy,
                          x.numpy())
            for name, (path, x, _) in graphs.items()
        }
        # min_run_time 0: one untimed and one timed call per round
        times = time_in_turn(runs, 'onnxruntime', 'latency', args,
                             min_run_time=0)
    return times, {name: (tuple(x.shape), base)
                   for name, (_, x, base) in graphs.items()}


def network_table(rows, peak_mb):
    base = {phase: m['StdConv'].median for phase, m in rows.items()}
    lines = ['| variant | train step (s) | x StdConv | inference (s) | '
             'x StdConv | peak train memory (MB) | x StdConv |',
             '|---|---|---|---|---|---|---|']
    for v in VARIANTS:
        train, infer = (rows[p][v].median for p in ('train step', 'inference'))
        lines.append(
            f"| {v} | {train:.3f} | {train / base['train step']:.3f} | "
            f"{infer:.3f} | {infer / base['inference']:.3f} | "
            f"{peak_mb[v]:.0f} | {peak_mb[v] / peak_mb['StdConv']:.3f} |")
    return '\n'.join(lines)


def layer_table(result):
    lines = ['| shape | layer | forward (ms) | x plain conv | '
             'forward + backward (ms) | x plain conv |',
             '|---|---|---|---|---|---|']
    for shape, modes in result.items():
        base = {mode: m['plain conv'].median for mode, m in modes.items()}
        for name in modes['forward']:
            cells = ''.join(
                f' {m[name].median * 1e3:.1f} | '
                f'{m[name].median / base[mode]:.3f} |'
                for mode, m in modes.items())
            lines.append(f'| {shape} | {name} |{cells}')
    return '\n'.join(lines)


def onnxruntime_table(times, graphs):
    lines = ['| graph | input | latency (ms) | x plain |', '|---|---|---|---|']
    for name, (shape, base) in graphs.items():
        ratio = times[name].median / times[base or name].median
        lines.append(f'| {name} | {shape} | {times[name].median * 1e3:.1f} '
                     f'| {ratio:.3f} |')
    return '\n'.join(lines)


def medians(tree):
    """The nested dict of Measurements as median seconds (for JSON)."""
    if isinstance(tree, benchmark.Measurement):
        return tree.median
    return {k: medians(v) for k, v in tree.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--det-batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--rounds', type=int, default=5,
                        help='round-robin rounds (each variant and layer '
                        'is timed once per round)')
    parser.add_argument('--layer-time', type=float, default=0.2,
                        help='seconds each layer is timed for per round')
    parser.add_argument('--layer-batch', type=int,
                        help='batch of the layer timings (default: '
                        '16 for the stem, 8 for the body, as in the paper; '
                        'layer-nd: 8 in 1D, 4 in 3D)')
    parser.add_argument('--parts', nargs='+', choices=PARTS,
                        default=['backbone', 'faster-rcnn', 'layer'],
                        help='what to time (default: all but onnxruntime)')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args()
    for name in ('threads', 'batch', 'det_batch', 'size', 'rounds',
                 'layer_batch'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be positive, '
                         f'got {value}')
    if args.layer_time < 0:
        parser.error(f'--layer-time must be >= 0, got {args.layer_time}')

    device = (torch.cuda.get_device_name(args.device)
              if is_cuda(args.device) else
              f'{platform.processor() or platform.machine()} CPU, '
              f'{args.threads} threads')
    print(f'device: {device}; torch {torch.__version__}\n')
    results = dict(device=device, args=vars(args))
    for kind in [p for p in ('backbone', 'faster-rcnn') if p in args.parts]:
        rows = time_round_robin(kind, args)
        peak_mb = {v: memory_isolated(kind, v, args) for v in VARIANTS}
        benchmark.Compare(
            [m for phase in rows.values() for m in phase.values()]).print()
        results[kind] = dict(medians(rows), peak_train_mb=peak_mb)
        batch = args.batch if kind == 'backbone' else args.det_batch
        print(f'## ResNet-50 {kind}, batch {batch}, {args.size}x{args.size}'
              f'\n\n{network_table(rows, peak_mb)}\n')
    if 'layer' in args.parts:
        layer = dgmconv_layer(args)
        benchmark.Compare([m for modes in layer.values()
                           for mode in modes.values()
                           for m in mode.values()]).print()
        results['dgmconv_layer'] = medians(layer)
        print(f'## One D-GMConv layer\n\n{layer_table(layer)}\n')
    if 'layer-nd' in args.parts:
        layer = gmconv_nd_layers(args)
        benchmark.Compare([m for modes in layer.values()
                           for mode in modes.values()
                           for m in mode.values()]).print()
        results['gmconv_nd_layers'] = medians(layer)
        print(f'## 1D and 3D GMConv layers\n\n{layer_table(layer)}\n')
    if 'onnxruntime' in args.parts:
        import onnxruntime
        times, graphs = onnxruntime_graphs(args)
        results['onnxruntime'] = medians(times)
        print(f'## onnxruntime {onnxruntime.__version__}, CPU, '
              f'{args.threads} threads\n\n{onnxruntime_table(times, graphs)}')
    if args.out:
        from mmgmconv.atomic_write import dump_json_atomically
        dump_json_atomically(results, args.out, indent=2)


if __name__ == '__main__':
    main()
