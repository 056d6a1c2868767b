"""Fold S-GMConv masks into plain convs (zero inference cost)."""
from typing import Dict

from torch import nn

from .conv_subclass import restore_conv_class
from .sgm_conv import SGMConv
from .sgm_conv_nd import SGMConv1d, SGMConv3d


def fuse_gmconv(model: nn.Module) -> nn.Module:
    """Replace every :class:`SGMConv` in ``model`` by its folded conv.

    Works in place and returns ``model`` (or the folded conv if ``model`` is
    itself an ``SGMConv``); the inverse of :func:`convert_to_gmconv`. The
    result computes the same outputs with the parameters of a plain-conv
    network: a converted model (:func:`convert_to_gmconv`) becomes exactly
    the original architecture, with the same module types and state-dict
    keys, loadable strictly into the unconverted model. An ``SGMConv`` used
    at several places becomes one plain conv used at all of them. Each
    folded conv carries an attribute
    (:func:`~mmgmconv.ops.sgm_conv.mark_folded`) so that
    ``convert_to_gmconv`` refuses it; a checkpoint of folded layers is
    guarded by its meta (``tools/fuse_gmconv.py``). ``DGMConv`` layers
    cannot be folded (their mask depends on the input) and are left as
    they are.
    """
    return _fuse(model, {})


def _fuse(module: nn.Module, folded: Dict[int, nn.Conv2d]) -> nn.Module:
    if isinstance(module, (SGMConv, SGMConv1d, SGMConv3d)):
        if id(module) not in folded:
            folded[id(module)] = restore_conv_class(module.to_plain_conv(),
                                                    module)
        return folded[id(module)]
    # not named_children(): it gives a module used twice only once
    for name, child in list(module._modules.items()):
        if child is not None:
            setattr(module, name, _fuse(child, folded))
    return module
