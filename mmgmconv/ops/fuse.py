"""Fold S-GMConv masks into plain convs (zero inference cost)."""
from torch import nn

from .sgm_conv import SGMConv


def fuse_gmconv(model: nn.Module) -> nn.Module:
    """Replace every :class:`SGMConv` in ``model`` by its folded conv.

    Works in place and returns ``model`` (or the folded conv if ``model`` is
    itself an ``SGMConv``). The result computes the same outputs with the
    parameters of a plain-conv network. ``DGMConv`` layers cannot be folded
    (their mask depends on the input) and are left as they are.
    """
    if isinstance(model, SGMConv):
        return model.to_plain_conv()
    for name, child in model.named_children():
        setattr(model, name, fuse_gmconv(child))
    return model
