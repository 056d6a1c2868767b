"""Fold S-GMConv masks into plain convs (zero inference cost)."""
from typing import Dict

from torch import nn

from .conv_subclass import restore_conv_class
from .sgm_conv import SGMConv
from .sgm_conv_nd import SGMConv1d, SGMConv3d

#: The S-GMConv layers, folded by :func:`fuse_gmconv`.
S_GMCONVS = (SGMConv1d, SGMConv, SGMConv3d)


def fuse_gmconv(model: nn.Module) -> nn.Module:
    """Replace every S-GMConv (:class:`SGMConv`, ``SGMConv1d``,
    ``SGMConv3d``) in ``model`` by its folded conv.

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
    folded: Dict[int, nn.Module] = {}

    def fold(conv):
        if id(conv) not in folded:
            folded[id(conv)] = restore_conv_class(conv.to_plain_conv(), conv)
        return folded[id(conv)]

    if isinstance(model, S_GMCONVS):
        return fold(model)
    # remove_duplicate=False: a module used at two places has two names
    for name, module in list(model.named_modules(remove_duplicate=False)):
        if isinstance(module, S_GMCONVS):
            parent, _, attr = name.rpartition('.')
            setattr(model.get_submodule(parent), attr, fold(module))
    return model
