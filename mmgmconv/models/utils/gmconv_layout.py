"""Say at build time where a backbone has GMConv and what of it is frozen."""
import logging
from typing import Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log
from torch import nn

from ...ops import DGMConv, SGMConv, is_folded
from ...ops.gmconv_layers import name_dgmconv_layers

Part = Union[nn.Module, Sequence[nn.Module]]


def _kind(part: Part) -> str:
    """What GMConv ``part`` holds: ``'D'``, ``'S'``, ``'D+S'`` (layers with
    a mask), ``'folded S'`` (only folded S-GMConv, e.g. ``deploy=True``),
    or ``''``."""
    modules = [m for p in ([part] if isinstance(part, nn.Module) else part)
               for m in p.modules()]
    kinds = []
    if any(isinstance(m, DGMConv) and m.sigma_predictor is not None
           for m in modules):
        kinds.append('D')
    if any(isinstance(m, SGMConv) and m.sigma is not None for m in modules):
        kinds.append('S')
    elif any(is_folded(m) for m in modules):
        kinds.append('folded S')
    return '+'.join(kinds)


def _maskless(parts: Dict[str, Part]) -> str:
    """The GMConv layers of ``parts`` that are plain convs because their
    kernel has nothing to mask (at most 2x2,
    :func:`~mmgmconv.ops.sgm_conv.mask_is_all_ones`), counted by kind
    with their kernel sizes (``'36 D-GMConv (1x1) without sigma
    predictor'``), or ``''``."""
    layers = {
        id(m): m
        for part in parts.values()
        for p in ([part] if isinstance(part, nn.Module) else part)
        for m in p.modules()
    }.values()
    found = {'D-GMConv': set(), 'S-GMConv': set()}
    counts = dict.fromkeys(found, 0)
    for m in layers:
        if isinstance(m, DGMConv) and m.sigma_predictor is None:
            kind = 'D-GMConv'
        elif isinstance(m, SGMConv) and m.sigma is None:
            kind = 'S-GMConv'
        else:
            continue
        counts[kind] += 1
        found[kind].add('x'.join(map(str, m.kernel_size)))
    without = {'D-GMConv': 'sigma predictor', 'S-GMConv': 'sigma'}
    return ', '.join(
        f'{counts[kind]} {kind} ({", ".join(sorted(sizes))}) without '
        f'{without[kind]}' for kind, sizes in found.items() if sizes)


def log_gmconv_layout(backbone: nn.Module,
                      parts: Dict[str, Part],
                      frozen: List[str],
                      frozen_by: str = '',
                      gmconv_asked: Optional[bool] = None) -> None:
    """Log one line saying which ``parts`` hold GMConv (S / D) and which of
    those are ``frozen``, and one counting the GMConv layers that are plain
    convs because their kernel (at most 2x2) has nothing to mask; warn
    about GMConv in frozen parts and, when ``gmconv_asked`` is False, about
    a backbone without any GMConv. Names every D-GMConv of ``backbone`` for
    its error messages (``'GMResNet.layer1.0.conv2'``,
    :func:`~mmgmconv.ops.gmconv_layers.name_dgmconv_layers`).

    Args:
        backbone: The built backbone (its class names the line).
        parts: Part name (``'stem'``, ``'layer1'``, ...) to its module(s).
        frozen: Names of the parts whose parameters do not train.
        frozen_by: The setting that freezes them (``'frozen_stages=1'``).
        gmconv_asked: False when no GMConv was asked for at all (e.g. no
            ``gmconv_stages``): a backbone without GMConv is then a warning.
            True or None: it is stated in the line only.

    The GMConv layers of a frozen part keep their sigma (S-GMConv) and
    their sigma predictor (D-GMConv) at the values they start with (the
    checkpoint's, or ``sigma_init`` and a zero last FC): the warning names
    them, so a run that was meant to learn them does not go on silently.
    """
    name = type(backbone).__name__
    name_dgmconv_layers(backbone, name)
    kinds = {part: _kind(module) for part, module in parts.items()}
    maskless = _maskless(parts)
    where = [f'{part} ({kind})' for part, kind in kinds.items() if kind]
    if not where:
        text = f'{name}: no GMConv layer (all convs plain)'
        if gmconv_asked is False:
            print_log(
                f'{text}: no GMConv was asked for, so this is the plain '
                f'network. Choose the GMConv parts (gmconv_stages for the '
                f'GMConv ResNets, conv_cfg / stem_conv_cfg for the others), '
                f'or ignore this for a StdConv baseline.',
                logger='current',
                level=logging.WARNING)
        else:
            print_log(text, logger='current')
        _log_maskless(name, maskless)
        return
    # folded layers have nothing of GMConv left to train
    frozen_gm = [
        part for part in frozen
        if kinds.get(part) and kinds[part] != 'folded S'
    ]
    print_log(
        f'{name}: GMConv in {", ".join(where)}; frozen: '
        f'{", ".join(frozen_gm) if frozen_gm else "none"}'
        f'{f" ({frozen_by})" if frozen_gm else ""}',
        logger='current')
    if frozen_gm:
        print_log(
            f'{name}: {frozen_by} freezes the GMConv layers of '
            f'{", ".join(frozen_gm)}: their sigma and sigma predictor will '
            f'not train (they keep their initial or loaded values). Lower '
            f'frozen_stages (-1: nothing frozen) to train them.',
            logger='current',
            level=logging.WARNING)
    _log_maskless(name, maskless)


def _log_maskless(name: str, maskless: str) -> None:
    if maskless:
        print_log(
            f'{name}: {maskless}: a kernel of at most 2x2 has nothing to '
            f'mask (its mask is all ones), so these layers are plain '
            f'convolutions', logger='current')
