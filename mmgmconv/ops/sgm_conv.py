"""Static GMConv: a conv whose kernel is masked by one learnable sigma."""
import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from .gaussian_mask import check_sigma_value, gaussian_mask


@MODELS.register_module('SGMConv')
class SGMConv(nn.Conv2d):
    """S-GMConv: ``conv(x, weight * M(sigma))`` with a circular mask.

    Takes ``nn.Conv2d``'s arguments plus ``sigma_init`` (paper default 5).
    The mask ``M`` (:func:`gaussian_mask`, ``(kh, kw)``) is broadcast over
    the ``(C_out, C_in / groups)`` channels of ``weight``. It is applied in
    ``_conv_forward``, so callers that pass their own weight to it (mmcv's
    ``ConvModule`` with ``efficient_conv_bn_eval``) are masked too.

    A 1x1 kernel has nothing to mask: it is a plain conv and has no sigma.
    In eval mode without autograd the masked weight is cached (and rebuilt
    when ``weight`` or ``sigma`` change), so inference costs what a plain
    conv does; :func:`fuse_gmconv` folds the mask in for good.

    Shapes: input ``(B, C_in, H, W)``, output ``(B, C_out, H', W')``.
    """

    def __init__(self, *args, sigma_init: float = 5.0, **kwargs):
        super().__init__(*args, **kwargs)
        sigma_init = check_sigma_value(sigma_init, 'sigma_init')
        if self.kernel_size == (1, 1):
            self.register_parameter('sigma', None)
        else:
            self.sigma = nn.Parameter(
                torch.tensor(sigma_init, device=self.weight.device))
        self._masked_weight_cache = None

    def mask(self) -> Tensor:
        """The current mask, ``(kh, kw)`` (all ones for a 1x1 kernel)."""
        if self.sigma is None:
            return self.weight.new_ones(self.kernel_size)
        return gaussian_mask(self.kernel_size, self.sigma)

    def _masked(self, weight: Tensor) -> Tensor:
        if self.training or torch.is_grad_enabled() or weight is not \
                self.weight:
            self._masked_weight_cache = None
            return weight * self.mask().to(weight.dtype)
        key = (weight.data_ptr(), weight._version, weight.dtype,
               self.sigma.data_ptr(), self.sigma._version)
        if self._masked_weight_cache is None or \
                self._masked_weight_cache[0] != key:
            self._masked_weight_cache = (key,
                                         weight * self.mask().to(weight.dtype))
        return self._masked_weight_cache[1]

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Tensor) -> Tensor:
        if self.sigma is not None:
            weight = self._masked(weight)
        return super()._conv_forward(input, weight, bias)

    @torch.no_grad()
    def to_plain_conv(self) -> nn.Conv2d:
        """A ``nn.Conv2d`` with the mask folded into its weight."""
        conv = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.bias is not None,
            padding_mode=self.padding_mode,
            device=self.weight.device,
            dtype=self.weight.dtype)
        conv.weight.copy_(self.weight * self.mask().to(self.weight.dtype))
        conv.weight.requires_grad_(self.weight.requires_grad)
        if self.bias is not None:
            conv.bias.copy_(self.bias)
            conv.bias.requires_grad_(self.bias.requires_grad)
        return conv.train(self.training)

    def extra_repr(self) -> str:
        sigma = 'None' if self.sigma is None else f'{self.sigma.item():.4g}'
        return f'{super().extra_repr()}, sigma={sigma}'
