"""Static GMConv: a conv whose kernel is masked by one learnable sigma."""
from typing import Sequence

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from .gaussian_mask import check_sigma_init, gaussian_mask, gaussian_mask_nd
from .load_hooks import register_load_pre_hook

#: The key of a folded S-GMConv. In a checkpoint's ``meta`` (written by
#: ``tools/fuse_gmconv.py``): the names of the layers whose weight holds
#: ``W * M(sigma)``; the project's checkpoint policy turns it into a
#: ``<layer>.gmconv_folded`` state-dict entry per layer (as checkpoints of
#: mmgmconv 0.x carried), which an :class:`SGMConv` refuses to load.
FOLDED_KEY = 'gmconv_folded'


def mask_is_all_ones(kernel_size: Sequence[int]) -> bool:
    """Whether every GMConv mask of this kernel is all ones.

    True for kernels of at most 2 taps along every axis (1x1, 1x2, 2x1,
    2x2; in 1D and 3D the same): all their taps are equally far from the
    kernel centre ``(k - 1) / 2`` along each axis, so the max-normalised
    mask (eq. 4) is 1 everywhere whatever sigma is, and a sigma there would
    never get a gradient. The one rule :class:`SGMConv` (no ``sigma``),
    every D-GMConv (no sigma predictor,
    :class:`~mmgmconv.ops.dgm_conv.DGMConvMixin`) and
    :func:`~mmgmconv.convert_to_gmconv` (such convs are left alone) share.
    """
    return max(kernel_size) <= 2


def _drop_folded_entry(module, state_dict, prefix, *args) -> None:
    state_dict.pop(prefix + FOLDED_KEY, None)


def mark_folded(conv: nn.Conv2d) -> nn.Conv2d:
    """Mark ``conv`` as holding a folded S-GMConv weight; returns it.

    Type, parameters and state-dict keys stay those of ``nn.Conv2d``, so a
    fused model is exactly the original architecture. The mark is an
    attribute and a load pre-hook: the conv consumes the
    ``<layer>.gmconv_folded`` entry of a folded checkpoint, and
    :func:`~mmgmconv.convert_to_gmconv` refuses it (a new mask would be a
    second one); the backbones' layout log names it.
    """
    conv.gmconv_folded = True
    register_load_pre_hook(conv, _drop_folded_entry)
    return conv


def is_folded(conv: nn.Module) -> bool:
    """Whether ``conv`` holds a folded S-GMConv weight
    (:func:`mark_folded`)."""
    return getattr(conv, 'gmconv_folded', False)


@torch.no_grad()
def folded_plain_conv(layer: nn.Module, conv_class: type) -> nn.Module:
    """A ``conv_class`` (``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.Conv3d``) with
    the arguments of the S-GMConv ``layer`` and its mask folded into the
    weight, ``W * M(sigma)``: the same outputs, the parameters of a plain
    conv, marked by :func:`mark_folded`; training mode and
    ``requires_grad`` as ``layer``'s."""
    conv = conv_class(
        layer.in_channels,
        layer.out_channels,
        layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
        bias=layer.bias is not None,
        padding_mode=layer.padding_mode,
        device=layer.weight.device,
        dtype=layer.weight.dtype)
    conv.weight.copy_(layer.weight * layer.mask().to(layer.weight.dtype))
    conv.weight.requires_grad_(layer.weight.requires_grad)
    if layer.bias is not None:
        conv.bias.copy_(layer.bias)
        conv.bias.requires_grad_(layer.bias.requires_grad)
    return mark_folded(conv).train(layer.training)


@MODELS.register_module()
class FoldedConv2d(nn.Conv2d):
    """The conv config ``dict(type='FoldedConv2d')``: what an S-GMConv is in
    ``deploy=True`` backbones. Builds an ``nn.Conv2d`` marked by
    :func:`mark_folded`, the module :func:`fuse_gmconv` leaves, so that a
    ``deploy=True`` backbone and a fused one have the same module types."""

    def __new__(cls, *args, **kwargs) -> nn.Conv2d:
        return mark_folded(nn.Conv2d(*args, **kwargs))


class SGMConvMixin:
    """What an S-GMConv adds to its ``nn.Conv1d`` / ``nn.Conv2d`` /
    ``nn.Conv3d`` (:class:`SGMConv`, ``SGMConv1d``, ``SGMConv3d``):
    ``conv(x, weight * M(sigma))`` with an isotropic mask
    (:func:`~mmgmconv.ops.gaussian_mask.gaussian_mask_nd` with the same
    sigma on every axis; in 2D the paper's circular mask).

    The paper defines S-GMConv for 2D kernels only; one isotropic sigma per
    layer in 1D and 3D is our generalisation of its circular mask (eq. 3-4:
    the same sigma along both axes). For video, where the time axis may
    want another width, use :class:`~mmgmconv.ops.dgm_conv_nd.DGMConv3d`
    (a predicted temporal ratio).

    A folded checkpoint (``meta['gmconv_folded']``, written by
    ``tools/fuse_gmconv.py``, read through the project's checkpoint policy;
    a ``<layer>.gmconv_folded`` entry) cannot be loaded into an S-GMConv
    with a mask, in 1D, 2D or 3D: it raises a ``ValueError`` saying how to
    load it, instead of masking ``W * M`` a second time.
    """

    #: The plain conv class the layer folds into.
    plain_conv: type

    def __init__(self, *args, sigma_init: float = 5.0, **kwargs):
        sigma_init = check_sigma_init(sigma_init)
        super().__init__(*args, **kwargs)
        self.sigma_init = sigma_init
        if mask_is_all_ones(self.kernel_size):
            self.register_parameter('sigma', None)
        else:
            self.sigma = nn.Parameter(
                torch.tensor(self.sigma_init, device=self.weight.device))

    def reset_parameters(self) -> None:
        """The plain conv's initialisation of weight and bias, and
        ``sigma = sigma_init``."""
        super().reset_parameters()
        # None also while the conv's __init__ calls this, before sigma exists
        if getattr(self, 'sigma', None) is not None:
            with torch.no_grad():
                self.sigma.fill_(self.sigma_init)

    def mask(self) -> Tensor:
        """The current mask, shaped as ``kernel_size`` (all ones without a
        sigma)."""
        if self.sigma is None:
            return self.weight.new_ones(self.kernel_size)
        return gaussian_mask_nd(self.kernel_size, self.sigma)

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Tensor) -> Tensor:
        if self.sigma is not None:
            weight = weight * self.mask().to(weight.dtype)
        return super()._conv_forward(input, weight, bias)

    def to_plain_conv(self) -> nn.Module:
        """A :attr:`plain_conv` (``nn.Conv1d`` / ``2d`` / ``3d``) with the
        mask folded into its weight: the same outputs, the state-dict keys
        of the conv before :func:`~mmgmconv.convert_to_gmconv`
        (:func:`~mmgmconv.ops.sgm_conv.folded_plain_conv`)."""
        return folded_plain_conv(self, self.plain_conv)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        name = type(self).__name__
        if self.sigma is None:
            # no mask: a folded weight is the weight, a sigma has no effect
            state_dict.pop(prefix + FOLDED_KEY, None)
            state_dict.pop(prefix + 'sigma', None)
        elif prefix + FOLDED_KEY in state_dict:
            raise ValueError(
                f'{prefix[:-1] or name}: the checkpoint holds a folded '
                f'S-GMConv (key {prefix}{FOLDED_KEY}, written by fuse_gmconv '
                f'/ tools/fuse_gmconv.py: the weight is already W * M(sigma)'
                f'), but this layer is an {name}, which would mask it a '
                f'second time. Build it as a plain conv '
                f'({self.plain_conv.__name__}) instead: '
                f'model.backbone.deploy=True for the mmgmconv backbones '
                f'(--cfg-options model.backbone.deploy=True), a conv_cfg '
                f'without {name} for that layer, or fuse_gmconv(model) '
                f'before loading; or load the checkpoint from before fusing.')
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        sigma = 'None' if self.sigma is None else f'{self.sigma.item():.4g}'
        return f'{super().extra_repr()}, sigma={sigma}'


@MODELS.register_module('SGMConv')
class SGMConv(SGMConvMixin, nn.Conv2d):
    """S-GMConv: ``conv(x, weight * M(sigma))`` with a circular mask.

    Takes ``nn.Conv2d``'s arguments plus ``sigma_init`` (paper default 5,
    allowed range :data:`~mmgmconv.ops.gaussian_mask.SIGMA_INIT_RANGE`).
    The mask ``M`` (:func:`gaussian_mask`, ``(kh, kw)``) is broadcast over
    the ``(C_out, C_in / groups)`` channels of ``weight``. It is applied in
    ``_conv_forward``, so callers that pass their own weight to it (mmcv's
    ``ConvModule`` with ``efficient_conv_bn_eval``) are masked too.

    A kernel of at most 2x2 has nothing to mask (:func:`mask_is_all_ones`):
    it is a plain conv and has no sigma.

    Every forward computes ``weight * M(sigma)`` from the current weight and
    sigma, so in-place edits (``.data``, ``load_state_dict``) always show.
    The mask is ``kh * kw`` numbers and the product one pass over the
    weight; for inference without it, fold the mask in for good with
    :func:`~mmgmconv.fuse_gmconv` (``tools/fuse_gmconv.py``; the backbones'
    ``deploy=True`` builds that structure): the paper's "no extra
    inference-time computational overhead" (Sec. III).

    After ``to_empty()``, :meth:`reset_parameters` restores ``sigma_init``.

    Shapes: input ``(B, C_in, H, W)`` or ``(C_in, H, W)``, output
    ``(B, C_out, H', W')`` or ``(C_out, H', W')``.
    """

    plain_conv = nn.Conv2d

    def mask(self) -> Tensor:
        """The current mask, ``(kh, kw)`` (all ones without a sigma)."""
        if self.sigma is None:
            return self.weight.new_ones(self.kernel_size)
        return gaussian_mask(self.kernel_size, self.sigma)
