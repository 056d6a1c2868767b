"""Learned RF masks (Fig. 7) and effective receptive fields (Fig. 8)."""
import re
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np
import torch
from torch import nn

from .ops import DGMConv, SGMConv, gaussian_mask


def layer_masks(model: nn.Module, probe_size: int = 64) -> Dict[str, tuple]:
    """``{layer name: (mask (kh, kw) array, sigma1, sigma2)}`` in model order.

    S-GMConv: its learned circular mask. D-GMConv: the mask it predicts for
    a mid-grey ``probe_size`` square input (its mask depends on the input).
    1x1 layers, which have no mask, are left out.
    """
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, SGMConv) and m.sigma is not None:
            s = m.sigma.detach().abs().item()
            out[name] = (m.mask().detach().cpu().numpy(), s, s)
        elif isinstance(m, DGMConv):
            probe = torch.zeros(1, m.in_channels, probe_size, probe_size,
                                device=m.weight.device)
            with torch.no_grad():
                s1, s2 = m.predict_sigmas(probe)
            mask = gaussian_mask(m.kernel_size, s1[0], s2[0])
            out[name] = (mask.cpu().numpy(), s1.item(), s2.item())
    return out


def stage_mean_masks(masks: Dict[str, tuple]) -> Dict[str, np.ndarray]:
    """Average mask per body stage (``layerN``), per kernel size elsewhere."""
    groups = defaultdict(list)
    for name, (mask, _, _) in masks.items():
        stage = re.search(r'layer\d+', name)
        key = stage.group(0) if stage else f'{mask.shape[0]}x{mask.shape[1]}'
        groups[f'{key} ({mask.shape[0]}x{mask.shape[1]})'].append(mask)
    return {k: np.mean([m for m in v if m.shape == v[0].shape], axis=0)
            for k, v in groups.items()}


def effective_receptive_field(model: nn.Module, images: Sequence[torch.Tensor],
                              stage: int, progress=None) -> np.ndarray:
    """ERF (Luo et al. 2016) of ``model.backbone``'s output ``stage``.

    For each normalised image ``(3, H, W)``: the gradient of the centre unit
    of that feature map (summed over channels) with respect to the input,
    absolute and summed over input channels; averaged over images and
    scaled to max 1. Returns ``(H, W)``.
    """
    model.eval()
    total = None
    for img in (progress(images) if progress else images):
        x = img[None].clone().requires_grad_(True)
        feat = model.backbone(x)[stage]
        h, w = feat.shape[-2:]
        feat[0, :, h // 2, w // 2].sum().backward()
        erf = x.grad[0].abs().sum(0)
        total = erf if total is None else total + erf
    total = total / len(images)
    return (total / total.max().clamp_min(1e-12)).numpy()


def load_images(paths: List[str], preprocessor, size: int):
    """Read, resize to ``size`` square and normalise as the model does."""
    import cv2
    mean = preprocessor.mean.detach().cpu().view(3, 1, 1)
    std = preprocessor.std.detach().cpu().view(3, 1, 1)
    to_rgb = getattr(preprocessor, '_channel_conversion', False)
    imgs = []
    for p in paths:
        img = cv2.imread(str(p))
        if img is None:
            raise ValueError(f'cannot read image {p}')
        img = cv2.resize(img, (size, size))
        if to_rgb:
            img = img[..., ::-1]
        t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
        imgs.append((t.float() - mean) / std)
    return imgs
