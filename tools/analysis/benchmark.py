"""Speed and memory of GMConv against plain conv and DCN.

    python tools/analysis/benchmark.py [--threads 2] [--batch 8] [--out X.json]

For a ResNet-50 backbone and for Faster R-CNN R50-FPN, each variant
(StdConv, S-GMConv everywhere, S-GMConv folded, GMConv, GMConv folded,
DCN L2-L4, GMConv-DCN) is timed: the median of a training step (forward +
backward) and of inference over repeated runs after warm-up. The variants
are timed round-robin in one process (one step of each in turn), so that
drift in the machine's speed hits them all alike. Peak memory of a
training step is measured for each variant in a fresh process. Everything
is printed as absolute figures and as ratios to StdConv from the same run. Also times one D-GMConv
layer against a plain conv of the same shape (batch 16, 7x7, 3->64,
224x224), for an image input and for an input that needs its gradient,
and its grouped convolution against a per-image loop. Runs on
the GPU when there is one (``--device``).
"""
import argparse
import json
import multiprocessing as mp
import platform
import statistics
import time

import torch
import torch.nn.functional as F

ALL = (True, ) * 5
DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
VARIANTS = {
    'StdConv': dict(),
    'S-GMConv': dict(gmconv_stages=ALL,
                     gmconv_cfg=dict(stem=dict(type='SGMConv'))),
    'S-GMConv folded': dict(gmconv_stages=ALL,
                            gmconv_cfg=dict(stem=dict(type='SGMConv'))),
    'GMConv': dict(gmconv_stages=ALL),
    'GMConv folded': dict(gmconv_stages=ALL),
    'DCN L2-L4': dict(dcn=DCN, stage_with_dcn=(False, True, True, True)),
    'GMConv-DCN': dict(gmconv_stages=(True, True, False, False, False),
                       dcn=DCN, stage_with_dcn=(False, True, True, True)),
}


def timed_once(fn, device):
    if device == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def time_in_turn(fns, device, warmup, reps):
    """Median seconds of each ``fns[name]()`` over ``reps`` runs after
    ``warmup``, calling the functions in turn (round-robin)."""
    times = {name: [] for name in fns}
    for _ in range(warmup + reps):
        for name, fn in fns.items():
            times[name].append(timed_once(fn, device))
    return {name: statistics.median(t[warmup:]) for name, t in times.items()}


def _proc_status_mb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 2**10
    raise RuntimeError(f'{field} not in /proc/self/status')


def reset_peak_memory(device):
    """Start a new peak; return the memory in use now (MB)."""
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated() / 2**20
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM, the peak resident set (Linux >= 4.0)
    return _proc_status_mb('VmRSS')


def peak_memory_mb(device):
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**20
    return _proc_status_mb('VmHWM')


def build(kind, variant):
    """The ResNet-50 backbone or Faster R-CNN of ``variant``."""
    import mmgmconv  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = dict(type='GMResNet', depth=50, norm_eval=False,
               **VARIANTS[variant])
    if kind == 'backbone':
        return MODELS.build(cfg)
    det = Config.fromfile('configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py')
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
    """Median train-step and inference seconds of every variant."""
    torch.set_num_threads(args.threads)
    steps = {v: make_steps(kind, v, args) for v in VARIANTS}
    result = {v: {} for v in VARIANTS}
    for phase, index, mode in (('train_s', 1, True), ('infer_s', 2, False)):
        for model, *_ in steps.values():
            model.train(mode)
        medians = time_in_turn({v: fns[index] for v, fns in steps.items()},
                               args.device, args.warmup, args.reps)
        for v in VARIANTS:
            result[v][phase] = medians[v]
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


def dgmconv_layer(args):
    """One D-GMConv against nn.Conv2d, and grouped conv against a loop.

    Two cases: an image input (the stem, where the paper puts D-GMConv: no
    gradient for the input) and an input that needs its gradient (a
    D-GMConv deeper in a network).
    """
    from mmgmconv import DGMConv, gaussian_mask
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plain = torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False).to(args.device)
    dyn = DGMConv(3, 64, 7, 2, 3, bias=False).to(args.device)
    result = {}
    for case, input_grad in (('image input', False),
                             ('input with gradient', True)):
        x = torch.randn(16, 3, 224, 224, device=args.device,
                        requires_grad=input_grad)

        def step(conv, x=x):
            return lambda: conv(x).sum().backward()

        def loop(x=x):
            s1, s2 = dyn.predict_sigmas(x)
            mask = gaussian_mask(7, s1, s2)
            out = torch.cat([
                F.conv2d(x[i:i + 1], dyn.weight * mask[i], None, 2, 3)
                for i in range(x.shape[0])
            ])
            out.sum().backward()

        result[case] = time_in_turn(
            {'plain conv': step(plain), 'D-GMConv (grouped)': step(dyn),
             'D-GMConv (per-image loop)': loop},
            args.device, args.warmup, args.layer_reps)
    return result


def table(rows, base):
    lines = ['| variant | train step (s) | x StdConv | inference (s) | '
             'x StdConv | peak train memory (MB) | x StdConv |',
             '|---|---|---|---|---|---|---|']
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['train_s']:.3f} | "
            f"{r['train_s'] / base['train_s']:.3f} | {r['infer_s']:.3f} | "
            f"{r['infer_s'] / base['infer_s']:.3f} | {r['peak_mb']:.0f} | "
            f"{r['peak_mb'] / base['peak_mb']:.3f} |")
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--det-batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--layer-reps', type=int, default=20,
                        help='timed runs of the single-layer benchmark')
    parser.add_argument('--skip-detector', action='store_true')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args()

    device = (torch.cuda.get_device_name() if args.device == 'cuda' else
              f'{platform.processor() or platform.machine()} CPU, '
              f'{args.threads} threads')
    print(f'device: {device}; torch {torch.__version__}\n')
    results = dict(device=device, args=vars(args))
    kinds = ['backbone'] + ([] if args.skip_detector else ['faster-rcnn'])
    for kind in kinds:
        rows = time_round_robin(kind, args)
        for v in VARIANTS:
            rows[v]['peak_mb'] = memory_isolated(kind, v, args)
        results[kind] = rows
        batch = args.batch if kind == 'backbone' else args.det_batch
        print(f'## ResNet-50 {kind}, batch {batch}, {args.size}x{args.size}'
              f'\n\n{table(rows, rows["StdConv"])}\n')
    results['dgmconv_layer'] = dgmconv_layer(args)
    print('## One layer, forward + backward (batch 16, 7x7, 3->64, 224x224)'
          '\n\n| input | layer | time (s) | x plain conv |\n|---|---|---|---|')
    for case, layer in results['dgmconv_layer'].items():
        for name, t in layer.items():
            print(f"| {case} | {name} | {t:.4f} | "
                  f"{t / layer['plain conv']:.3f} |")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
