"""Conv subclasses that only construct a plain conv (torchvision's video
ResNets build theirs with ``Conv3DSimple``), which GMConv may replace."""
from typing import Optional

from torch import nn
from torch.nn.utils import parametrize

#: Class attributes every class has; a subclass may define them.
_CLASS_METADATA = {
    '__module__', '__qualname__', '__doc__', '__dict__', '__weakref__',
    '__annotations__', '__firstlineno__', '__static_attributes__',
    '__orig_bases__', '__parameters__', '__init__'
}


def construction_only_reason(conv: nn.Module,
                             plain: type) -> Optional[str]:
    """None if ``conv``'s class only builds a ``plain`` conv (``nn.Conv1d``
    / ``nn.Conv2d`` / ``nn.Conv3d``), else why not.

    Such a class defines ``__init__`` and names ``plain`` does not have
    (e.g. torchvision's static ``Conv3DSimple.get_downsample_stride``),
    none of them a property, and its instances have no attribute a
    ``plain`` conv lacks: what it computes is ``plain``'s, so a GMConv
    layer can replace it, and :func:`restore_conv_class` gives it back its
    class when folding. A class that overrides anything of ``plain``
    (``forward``, ``_conv_forward``, ...: timm's ``Conv2dSame``, mmcv's
    ``Conv2dAdaptivePadding``) or a parametrized weight changes what the
    conv computes; our choice is to refuse those rather than guess.
    """
    cls = type(conv)
    if parametrize.is_parametrized(conv):
        return 'a parametrized weight'
    for klass in cls.__mro__[:cls.__mro__.index(plain)]:
        for name, value in vars(klass).items():
            if name in _CLASS_METADATA:
                continue
            if hasattr(plain, name):
                return f'{klass.__qualname__} overrides {name}'
            if hasattr(value, '__set__'):
                return f'{klass.__qualname__}.{name} is a property'
    reference = plain(1, 1, 1, device='meta')
    extra = sorted(set(vars(conv)) - set(vars(reference)))
    if extra:
        return f'its instance has attributes a {plain.__name__} has not: ' \
            f'{extra}'
    return None


def restore_conv_class(plain_conv: nn.Module, layer: nn.Module) -> nn.Module:
    """``plain_conv`` (a GMConv layer's folded conv) as an instance of the
    class of the conv that ``layer`` replaced (kept in
    ``layer.conv_class`` by :func:`~mmgmconv.convert_to_gmconv` for a
    construction-only subclass, :func:`construction_only_reason`); a
    construction-only class computes and stores what the plain conv does,
    so only the type changes."""
    conv_class = getattr(layer, 'conv_class', None)
    if conv_class is not None:
        plain_conv.__class__ = conv_class
    return plain_conv
