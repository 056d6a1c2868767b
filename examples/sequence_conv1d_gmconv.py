"""GMConv in a small Conv1d sequence model (audio, time series).

Build a plain PyTorch Conv1d classifier, convert its convs with
:func:`mmgmconv.convert_to_gmconv` (a D-GMConv1d stem whose sigma is
predicted per sequence, S-GMConv1d layers elsewhere), train it a few
full-batch steps on synthetic noisy sine waves (the class is the
frequency), measure the accuracy on new sequences, fold the S-GMConv masks
into the weights with :func:`mmgmconv.fuse_gmconv`, export to ONNX with a
dynamic batch and length and check it under onnxruntime::

    python examples/sequence_conv1d_gmconv.py --steps 30
"""
import argparse
import math
import os.path as osp
import tempfile
import time
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmgmconv import convert_to_gmconv, fuse_gmconv
from mmgmconv.deploy import export_onnx
from mmgmconv.deploy.onnx_verify import max_abs_diff
from mmgmconv.ops import DGMConv1d, SGMConv1d

#: Cycles per 128 samples of the three classes.
FREQUENCIES = (3.0, 6.0, 12.0)


def noisy_sines(num: int,
                length: int = 128,
                seed: int = 0) -> Tuple[Tensor, Tensor]:
    """``num`` sequences ``(num, 1, length)`` (float32: a sine of random
    phase and amplitude in [0.5, 1.5] plus noise of std 0.5) and their
    labels ``(num,)`` (int64, the index in :data:`FREQUENCIES`)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(FREQUENCIES), (num, ), generator=generator)
    cycles = torch.tensor(FREQUENCIES)[labels, None]
    phase = 2 * math.pi * torch.rand(num, 1, generator=generator)
    amplitude = 0.5 + torch.rand(num, 1, generator=generator)
    t = torch.arange(length) / 128
    waves = amplitude * torch.sin(2 * math.pi * cycles * t + phase)
    noise = 0.5 * torch.randn(num, length, generator=generator)
    return (waves + noise)[:, None], labels


def sequence_classifier() -> nn.Module:
    """A plain Conv1d network: ``(B, 1, L)`` -> logits ``(B, 3)``."""
    return nn.Sequential(
        nn.Conv1d(1, 16, 9, padding=4), nn.BatchNorm1d(16), nn.ReLU(),
        nn.Conv1d(16, 32, 7, stride=2, padding=3), nn.BatchNorm1d(32),
        nn.ReLU(), nn.Conv1d(32, 32, 5, stride=2, padding=2),
        nn.BatchNorm1d(32), nn.ReLU(), nn.Conv1d(32, 32, 1),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        nn.Linear(32, len(FREQUENCIES)))


def learned_sigmas(model: nn.Module, x: Tensor) -> Dict[str, str]:
    """Each S-GMConv1d layer's sigma and the stem's predicted sigma on
    ``x`` (mean and std)."""
    sigmas = {}
    for name, layer in model.named_modules():
        if isinstance(layer, SGMConv1d) and layer.sigma is not None:
            sigmas[name] = f'{layer.sigma.item():.3f}'
        elif isinstance(layer, DGMConv1d):
            with torch.no_grad():
                s = layer.predict_sigmas(x)[:, 0]
            sigmas[name] = f'{s.mean():.3f} +- {s.std():.3f}'
    return sigmas


def main(steps: int = 30,
         num: int = 128,
         lr: float = 1e-2,
         out: Optional[str] = None,
         seed: int = 0) -> Dict[str, object]:
    """Convert, train, fold and export; returns the figures it prints."""
    torch.manual_seed(seed)
    x, y = noisy_sines(num, seed=seed)
    x_test, y_test = noisy_sines(num, seed=seed + 1)
    model = convert_to_gmconv(sequence_classifier(), stem='0')
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    losses = []
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    train_seconds = time.perf_counter() - start
    print(f'loss {losses[0]:.4f} at step 1, {losses[-1]:.4f} at step '
          f'{steps} ({train_seconds:.1f} s)')
    sigmas = learned_sigmas(model, x_test)
    print('learned sigmas:')
    for name, sigma in sigmas.items():
        print(f'  {name}: {sigma}')

    model.eval()
    with torch.no_grad():
        logits = model(x_test)
        accuracy = (logits.argmax(1) == y_test).float().mean().item()
        fuse_gmconv(model)  # S-GMConv1d -> nn.Conv1d, D-GMConv1d stays
        folded_change = (model(x_test) - logits).abs().max().item()
    with tempfile.TemporaryDirectory() as tmp:
        path = out or osp.join(tmp, 'sequence_gmconv.onnx')
        export_onnx(model, path, shape=(1, 128), batch=2, force=True,
                    spatial_dims=1)
        # another batch and length than the export's
        onnx_diff = max_abs_diff(model, path, (1, 300), 5, 1)
    result = dict(losses=losses,
                  accuracy=accuracy,
                  folded_change=folded_change,
                  onnx_diff=onnx_diff,
                  sigmas=sigmas,
                  train_seconds=train_seconds)
    print(f'accuracy on {num} new sequences {accuracy:.3f} (chance 0.333); '
          f'folding changed their logits by at most {folded_change:.2e}; '
          f'onnxruntime vs PyTorch at batch 5, length 300: {onnx_diff:.2e}')
    return result


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=30)
    parser.add_argument('--num', type=int, default=128)
    parser.add_argument('--lr', type=float, default=1e-2)
    parser.add_argument('--out', help='where to write the ONNX graph '
                        '(default: a temporary file, removed afterwards)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.num, args.lr, args.out, args.seed)
