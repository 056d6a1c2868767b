"""Find the GMConv layers of a model (the one walk every tool uses)."""
from typing import Iterator, Tuple, Union

from torch import nn

from .dgm_conv import DGMConv
from .sgm_conv import SGMConv

GMConvLayer = Union[SGMConv, DGMConv]


def named_gmconv_layers(model: nn.Module) -> Iterator[Tuple[str,
                                                            GMConvLayer]]:
    """``(name, layer)`` for each GMConv layer of ``model`` that has a mask,
    in ``named_modules`` order: every :class:`DGMConv`, and every
    :class:`SGMConv` with a sigma (kernels of at most 2x2 have none)."""
    for name, module in model.named_modules():
        if isinstance(module, DGMConv) or (isinstance(module, SGMConv)
                                           and module.sigma is not None):
            yield name, module
