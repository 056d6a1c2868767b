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


def initial_masks(model: nn.Module) -> Dict[str, tuple]:
    """``{layer name: (mask, sigma_init, sigma_init)}``: the mask each
    GMConv layer of ``model`` starts with (``sigma_init``; a D-GMConv
    predictor starts at it for every image), in the form of
    :func:`layer_masks`."""
    out = {}
    for name, m in named_gmconv_layers(model):
        mask = gaussian_mask(m.kernel_size, float(m.sigma_init))
        out[name] = (mask.cpu().numpy(), m.sigma_init, m.sigma_init)
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


#: COCO's object sizes by area (pixels of the original image): small below
#: 32^2, medium below 96^2, large above (pycocotools' ``areaRng``).
COCO_SIZES = (('small', 0, 32**2), ('medium', 32**2, 96**2),
              ('large', 96**2, float('inf')))


def coco_size(area: float) -> str:
    """COCO's size name (``small``, ``medium``, ``large``) of an area."""
    if not area >= 0:
        raise ValueError(f'an object area must be >= 0, got {area!r}')
    return next(name for name, lo, hi in COCO_SIZES if lo <= area < hi)


def object_centre_erfs(model: nn.Module, images: Sequence[torch.Tensor],
                       objects: Sequence[Sequence[tuple]], stage: int,
                       window: int) -> Dict[str, tuple]:
    """ERFs at object centres grouped by COCO size (paper Fig. 8: "the
    effective receptive fields ... for objects of varying sizes in object
    detection").

    ``images`` are normalised ``(3, H, W)`` tensors; ``objects[i]`` the
    ``(cx, cy, area)`` of image ``i``'s objects, the centre in that tensor's
    pixels and the area in the original image's (which COCO's sizes
    refer to). For each object: the gradient of the unit of
    ``model.backbone``'s output ``stage`` at the object centre (summed over
    channels) with respect to the input, absolute and summed over input
    channels, cropped to ``window`` x ``window`` pixels centred on the
    object (zero beyond the image). Returns ``{size: (mean ERF scaled to
    max 1, object count)}`` for the sizes that have objects. Which unit and
    window stand for "the ERF of an object" is our choice: the paper does
    not say.
    """
    if window < 1:
        raise ValueError(f'window must be >= 1 pixel, got {window}')
    if len(objects) != len(images):
        raise ValueError(f'objects needs one list per image ({len(images)}),'
                         f' got {len(objects)}')
    model.eval()
    sums, counts = {}, defaultdict(int)
    half = window // 2
    for img, objs in zip(images, objects):
        H, W = img.shape[-2:]
        for cx, cy, area in objs:
            if not (0 <= cx < W and 0 <= cy < H):
                raise ValueError(f'object centre ({cx}, {cy}) is outside '
                                 f'the {W}x{H} image')
            x = img[None].clone().requires_grad_(True)
            feat = model.backbone(x)[stage]
            h, w = feat.shape[-2:]
            feat[0, :, int(cy * h / H), int(cx * w / W)].sum().backward()
            erf = x.grad[0].abs().sum(0)
            padded = nn.functional.pad(erf, (half, half, half, half))
            top, left = int(cy), int(cx)
            crop = padded[top:top + window, left:left + window]
            size = coco_size(area)
            sums[size] = crop if size not in sums else sums[size] + crop
            counts[size] += 1
    return {name: ((sums[name] / sums[name].max().clamp_min(1e-12)).numpy(),
                   counts[name])
            for name, _, _ in COCO_SIZES if name in sums}


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
