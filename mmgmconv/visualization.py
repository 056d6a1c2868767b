"""Learned RF masks (Fig. 7) and effective receptive fields (Fig. 8)."""
import re
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np
import torch
from torch import nn

from .analysis import FeatureForward
from .ops import DGMConv, SGMConv, gaussian_mask, named_gmconv_layers


def normalised_mean_image(model: nn.Module, size: int = 64) -> torch.Tensor:
    """The dataset's mean image as ``model`` sees it, ``(1, 3, size, size)``.

    The data preprocessor subtracts the dataset mean (and divides by the
    std), so the mean image reaches the network as zeros. A model whose
    preprocessor does not normalise has no mean to show: ``ValueError``.
    """
    pre = getattr(model, 'data_preprocessor', None)
    if getattr(pre, 'mean', None) is None:
        raise ValueError(
            f'{type(model).__name__} has no normalising data_preprocessor '
            '(with mean and std), so its mean image is unknown')
    return pre.mean.new_zeros(1, pre.mean.numel(), size, size)


def layer_masks(model: nn.Module, probe_size: int = 64) -> Dict[str, tuple]:
    """``{layer name: (mask (kh, kw) array, sigma1, sigma2)}`` in model order.

    S-GMConv: its learned circular mask. D-GMConv: the mask it predicts
    (eq. 7) when the model is fed the dataset's mean image
    (:func:`normalised_mean_image`, ``probe_size`` square), each layer from
    its own input on that forward pass. 1x1 layers, which have no mask, are
    left out.
    """
    dynamic = {m: name for name, m in named_gmconv_layers(model)
               if isinstance(m, DGMConv)}
    predicted = {}
    if dynamic:
        def record(module, args):
            predicted[dynamic[module]] = module.predict_sigmas(args[0])

        handles = [m.register_forward_pre_hook(record) for m in dynamic]
        try:
            with torch.no_grad():
                FeatureForward(model).eval()(
                    normalised_mean_image(model, probe_size))
        finally:
            for h in handles:
                h.remove()
        unreached = sorted(set(dynamic.values()) - set(predicted))
        if unreached:
            raise ValueError(f'D-GMConv layers {unreached} are not on the '
                             'feature path, so their masks are unknown')
    out = {}
    for name, m in named_gmconv_layers(model):
        if isinstance(m, SGMConv):
            s = m.sigma.detach().abs().item()
            out[name] = (m.mask().detach().cpu().numpy(), s, s)
        else:
            s1, s2 = predicted[name]
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


def load_images(paths: List[str], model: nn.Module,
                size: int) -> torch.Tensor:
    """Read, resize to ``size`` square and normalise with the model's own
    ``data_preprocessor`` (channel order, mean, std, padding).

    Images are read in BGR order, as mmcv's ``LoadImageFromFile`` gives
    them. Returns ``(N, 3, H, W)`` (``size`` square unless the
    preprocessor pads further).
    """
    import mmcv
    imgs = []
    for p in paths:
        img = mmcv.imread(str(p))
        if img is None:
            raise ValueError(f'cannot read image {p}')
        img = mmcv.imresize(img, (size, size))
        imgs.append(torch.from_numpy(img).permute(2, 0, 1))
    with torch.no_grad():
        return model.data_preprocessor(dict(inputs=imgs), False)['inputs']
