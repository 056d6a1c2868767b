"""Fold GMConv masks of a checkpoint into the plain convs that load it.

A GMConv network computes with ``W * M(sigma)`` (paper eq. 2), not ``W``.
When its checkpoint is loaded into a backbone where that layer is a plain
conv or a DCN, loading ``W`` alone would start the detector from another
network than the one trained. The pre-hook here folds the mask in instead,
so the layer starts as it was trained.

Where that happens is our choice: the paper says its detectors plug in "the
backbones we previously trained on ImageNet" (Sec. IV-A) but not which
backbone each partial row of Table V ("Stem L1" .. "Stem L1-L3",
"GMConv-DCN") started from. Our Table V configs start every GMConv row from
the one all-GMConv ImageNet ResNet-50, so their plain and DCN stages load
its folded weights.
"""
import logging
from typing import List

from mmengine.logging import print_log
from torch import nn

from ...ops import FOLDED_KEY, DGMConv, SGMConv, gaussian_mask
from ...ops.sgm_conv import mask_is_all_ones


def _is_plain_conv(module: nn.Module) -> bool:
    """A conv-like layer (4-D ``weight``) that is not a GMConv."""
    weight = getattr(module, 'weight', None)
    return (isinstance(weight, nn.Parameter) and weight.dim() == 4
            and not isinstance(module, (SGMConv, DGMConv)))


def fold_gmconv_checkpoint(module: nn.Module, state_dict: dict, prefix: str,
                           local_metadata: dict, strict: bool,
                           missing_keys: List[str],
                           unexpected_keys: List[str],
                           error_msgs: List[str]) -> None:
    """``_load_state_dict_pre_hook`` (``with_module=True``) of GMConv
    backbones.

    For every plain conv ``name`` of ``module`` whose checkpoint has
    ``name.sigma`` (an S-GMConv when it was saved), replaces
    ``name.weight`` by ``weight * gaussian_mask(kernel_size, sigma)`` and
    removes ``name.sigma``, so it is not reported as unexpected; a
    ``name.gmconv_folded`` marker (a conv folded by ``fuse_gmconv``, whose
    weight is already ``W * M``) is dropped, the weight loads as it is. The
    model's S-GMConv and D-GMConv layers load their keys as usual (an
    S-GMConv given a marker raises). Works for every
    loader that goes through ``_load_from_state_dict`` (``init_cfg``
    ``Pretrained``, ``load_from``, ``load_checkpoint``,
    ``Module.load_state_dict``); ``state_dict`` is the loader's copy.

    A plain conv whose checkpoint entry is a D-GMConv
    (``name.sigma_predictor.*``) cannot be folded: its mask depends on the
    input. That goes to ``error_msgs``, the loaders' channel for entries
    that do not fit a layer (as a shape mismatch does): strict loads
    (``tools/test.py``, ``load_checkpoint(strict=True)``, torch's
    ``load_state_dict``) raise a ``RuntimeError`` naming the layer, and
    mmengine's non-strict loads (``init_cfg`` ``Pretrained``) log it as a
    warning with the predictor's keys as unexpected, because a non-strict
    load asks to take what fits (e.g. a deliberately plain stem). The
    choice is ours; the paper does not load across layer types. A plain
    conv of at most 2x2 takes such an entry: its mask is all ones whatever
    the input (:func:`~mmgmconv.ops.sgm_conv.mask_is_all_ones`; checkpoints
    saved before D-GMConv built such layers without a predictor), so the
    predictor's keys are dropped, with a warning naming the layers.
    """
    folded: List[str] = []
    dropped: List[str] = []
    for name, conv in module.named_modules():
        if not _is_plain_conv(conv):
            continue
        key = f'{prefix}{name}.'
        predictor = f'{key}sigma_predictor.'
        predictor_keys = [k for k in state_dict if k.startswith(predictor)]
        if predictor_keys and mask_is_all_ones(conv.weight.shape[2:]):
            for k in predictor_keys:
                del state_dict[k]
            dropped.append(name)
        elif predictor_keys:
            error_msgs.append(
                f'{prefix}{name}: the checkpoint holds a D-GMConv layer (keys '
                f'{predictor}*) but the model builds '
                f'{type(conv).__name__} there. A D-GMConv mask depends on '
                f'the input, so it cannot be folded into the weight: build '
                f'that layer as D-GMConv (e.g. the stem on in gmconv_stages '
                f'with gmconv_cfg.stem of type DGMConv), or remove the '
                f'{predictor}* keys from the checkpoint to load the '
                f'unmasked weight on purpose.')
            continue
        # already folded (fuse_gmconv): the weight is W * M; drop the marker
        state_dict.pop(f'{key}{FOLDED_KEY}', None)
        sigma = state_dict.get(f'{key}sigma')
        weight = state_dict.get(f'{key}weight')
        if sigma is None or weight is None:
            continue
        mask = gaussian_mask(tuple(weight.shape[-2:]), sigma)
        state_dict[f'{key}weight'] = weight * mask.to(weight)
        del state_dict[f'{key}sigma']
        folded.append(name)
    if dropped:
        print_log(
            f'{type(module).__name__}: dropped the D-GMConv sigma '
            f'predictors of the checkpoint at {len(dropped)} plain convs '
            f'of at most 2x2, whose mask is all ones: {", ".join(dropped)}',
            logger='current', level=logging.WARNING)
    if folded:
        print_log(
            f'{type(module).__name__}: folded the S-GMConv masks of the '
            f'checkpoint (weight * M(sigma)) into {len(folded)} plain convs: '
            f'{", ".join(folded)}',
            logger='current')
