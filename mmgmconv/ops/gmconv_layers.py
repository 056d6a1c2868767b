"""Find the GMConv layers of a model (the one walk every tool uses)."""
from typing import Iterator, Tuple, Union

from torch import nn

from .dgm_conv import DGMConv, DGMConvMixin
from .sgm_conv import SGMConv

GMConvLayer = Union[SGMConv, DGMConv]


def named_gmconv_layers(model: nn.Module) -> Iterator[Tuple[str,
                                                            GMConvLayer]]:
    """``(name, layer)`` for each GMConv layer of ``model`` that has a mask,
    in ``named_modules`` order: every :class:`DGMConv` with a sigma
    predictor and every :class:`SGMConv` with a sigma (kernels of at most
    2x2 have neither: they are plain convs)."""
    for name, module in model.named_modules():
        if ((isinstance(module, DGMConv)
             and module.sigma_predictor is not None)
                or (isinstance(module, SGMConv)
                    and module.sigma is not None)):
            yield name, module


def name_dgmconv_layers(model: nn.Module, prefix: str) -> None:
    """Set the ``layer_name`` of every D-GMConv of ``model`` (2D, 1D and
    3D) to ``prefix`` and its name in ``model``
    (``'GMResNet.layer1.0.conv2'``), the name its error messages give
    (:meth:`~mmgmconv.ops.dgm_conv.DGMConvMixin.describe`)."""
    for name, module in model.named_modules():
        if isinstance(module, DGMConvMixin):
            module.layer_name = f'{prefix}.{name}' if name else prefix
