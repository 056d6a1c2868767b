"""GMConv in torchvision's video ResNet ``r3d_18``, on CPU in minutes.

Build ``r3d_18`` (random init, no download), convert its 3D convs with
:func:`mmgmconv.convert_to_gmconv` (a D-GMConv3d stem, whose mask has a
spatial sigma and a predicted temporal ratio, and S-GMConv3d layers
elsewhere, as the paper places them in 2D), train a few full-batch steps on
a small synthetic clip set (a bright square moving left, right, up or
down: the class is the direction), measure the accuracy on as many new
clips, fold the S-GMConv masks into the
weights with :func:`mmgmconv.fuse_gmconv`, export the folded model to ONNX
with a dynamic batch and clip size and check it under onnxruntime::

    python examples/video_r3d18_gmconv.py --steps 8 --out r3d_18.onnx
"""
import argparse
import os.path as osp
import tempfile
import time
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from mmgmconv import convert_to_gmconv, fuse_gmconv
from mmgmconv.deploy import export_onnx
from mmgmconv.deploy.onnx_verify import max_abs_diff
from mmgmconv.ops import DGMConv3d, SGMConv3d

#: Unit steps (dt, dy, dx) per frame of the four classes.
DIRECTIONS = ((0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0))


def moving_squares(num: int,
                   frames: int = 4,
                   size: int = 32,
                   seed: int = 0) -> Tuple[Tensor, Tensor]:
    """``num`` clips ``(num, 3, frames, size, size)`` (float32, noise of
    std 0.2 and a 6x6 square of value 1 moving 3 pixels a frame) and their
    labels ``(num,)`` (int64, the index in :data:`DIRECTIONS`)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(DIRECTIONS), (num, ), generator=generator)
    clips = 0.2 * torch.randn(num, 3, frames, size, size,
                              generator=generator)
    starts = torch.randint(9, size - 15, (num, 2), generator=generator)
    for clip, label, (y, x) in zip(clips, labels, starts.tolist()):
        _, dy, dx = DIRECTIONS[label]
        for t in range(frames):
            top, left = y + 3 * t * dy, x + 3 * t * dx
            clip[:, t, top:top + 6, left:left + 6] = 1.0
    return clips, labels


def learned_sigmas(model: nn.Module, clips: Tensor) -> Dict[str, str]:
    """Each S-GMConv3d layer's sigma and the stem's mean predicted
    ``(sigma_t, sigma_h, sigma_w)`` on ``clips``."""
    sigmas = {}
    for name, layer in model.named_modules():
        if isinstance(layer, SGMConv3d) and layer.sigma is not None:
            sigmas[name] = f'{layer.sigma.item():.3f}'
        elif isinstance(layer, DGMConv3d):
            with torch.no_grad():
                mean = layer.predict_sigmas(clips).mean(0).tolist()
            sigmas[name] = 'sigma_t, sigma_h, sigma_w ' + ', '.join(
                f'{s:.3f}' for s in mean)
    return sigmas


def main(steps: int = 8,
         num_clips: int = 32,
         lr: float = 1e-3,
         out: Optional[str] = None,
         seed: int = 0) -> Dict[str, object]:
    """Convert, train, fold and export; returns the figures it prints."""
    torch.manual_seed(seed)
    clips, labels = moving_squares(num_clips, seed=seed)
    test_clips, test_labels = moving_squares(num_clips, seed=seed + 1)
    model = torchvision.models.video.r3d_18(num_classes=len(DIRECTIONS))
    convert_to_gmconv(model, stem='stem.0')  # logs what it left and why
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    losses = []
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        loss = F.cross_entropy(model(clips), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        print(f'step {step + 1}: loss {loss.item():.4f}')
    train_seconds = time.perf_counter() - start
    sigmas = learned_sigmas(model, clips)
    print('learned sigmas:')
    for name, sigma in sigmas.items():
        print(f'  {name}: {sigma}')

    model.eval()
    with torch.no_grad():
        logits = model(test_clips)
        accuracy = (logits.argmax(1) == test_labels).float().mean().item()
        fuse_gmconv(model)  # S-GMConv3d -> nn.Conv3d, D-GMConv3d stays
        folded_change = (model(test_clips) - logits).abs().max().item()
    with tempfile.TemporaryDirectory() as tmp:
        path = out or osp.join(tmp, 'r3d_18_gmconv.onnx')
        export_onnx(model, path, shape=(4, 32, 32), batch=2, force=True,
                    spatial_dims=3)
        # another batch and clip size than the export's
        onnx_diff = max_abs_diff(model, path, (6, 40, 40), 3, 3)
    result = dict(losses=losses,
                  accuracy=accuracy,
                  folded_change=folded_change,
                  onnx_diff=onnx_diff,
                  sigmas=sigmas,
                  train_seconds=train_seconds)
    print(f'training took {train_seconds:.1f} s; accuracy on '
          f'{len(test_labels)} new clips {accuracy:.3f} (chance 0.25); '
          f'folding changed their logits by at most {folded_change:.2e}; '
          f'onnxruntime vs PyTorch at batch 3, 6x40x40 clips: '
          f'{onnx_diff:.2e}')
    return result


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=8)
    parser.add_argument('--num-clips', type=int, default=32)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--out', help='where to write the ONNX graph '
                        '(default: a temporary file, removed afterwards)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.num_clips, args.lr, args.out, args.seed)
