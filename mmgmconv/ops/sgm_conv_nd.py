"""Static GMConv for 1D and 3D convolutions: one learnable sigma."""
import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from .gaussian_mask import check_sigma_init, gaussian_mask_nd
from .sgm_conv import folded_plain_conv, mask_is_all_ones


class SGMConvNdMixin:
    """What :class:`SGMConv1d` and :class:`SGMConv3d` add to their
    ``nn.Conv1d`` / ``nn.Conv3d``: ``conv(x, weight * M(sigma))`` with an
    isotropic mask (:func:`~mmgmconv.ops.gaussian_mask.gaussian_mask_nd`
    with the same sigma on every axis), as :class:`~mmgmconv.SGMConv` in
    2D.

    The paper defines S-GMConv for 2D kernels only; one isotropic sigma per
    layer in 1D and 3D is our generalisation of its circular mask (eq. 3-4:
    the same sigma along both axes). For video, where the time axis may
    want another width, use :class:`~mmgmconv.ops.dgm_conv_nd.DGMConv3d`
    (a predicted temporal ratio).
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
        """A :attr:`plain_conv` (``nn.Conv1d`` / ``nn.Conv3d``) with the
        mask folded into its weight: the same outputs, the state-dict keys
        of the conv before :func:`~mmgmconv.convert_to_gmconv`
        (:func:`~mmgmconv.ops.sgm_conv.folded_plain_conv`)."""
        return folded_plain_conv(self, self.plain_conv)

    def extra_repr(self) -> str:
        sigma = 'None' if self.sigma is None else f'{self.sigma.item():.4g}'
        return f'{super().extra_repr()}, sigma={sigma}'


@MODELS.register_module('SGMConv1d')
class SGMConv1d(SGMConvNdMixin, nn.Conv1d):
    """S-GMConv for sequences (audio, time series): an ``nn.Conv1d`` whose
    kernel is masked by ``M(l) = exp(-l**2 / (2 sigma**2))`` (max 1), ``l``
    the tap's offset from the kernel centre, with one learnable sigma.

    Takes ``nn.Conv1d``'s arguments plus ``sigma_init`` (default 5, range
    :data:`~mmgmconv.ops.gaussian_mask.SIGMA_INIT_RANGE`); a kernel of size
    1 or 2 has nothing to mask and no sigma. Registered as
    ``'SGMConv1d'`` (``conv_cfg=dict(type='SGMConv1d')``). Folds into an
    ``nn.Conv1d`` (:meth:`to_plain_conv`, :func:`~mmgmconv.fuse_gmconv`).

    Shapes: input ``(B, C_in, L)`` or ``(C_in, L)``, output
    ``(B, C_out, L')`` or ``(C_out, L')``.
    """

    plain_conv = nn.Conv1d


@MODELS.register_module('SGMConv3d')
class SGMConv3d(SGMConvNdMixin, nn.Conv3d):
    """S-GMConv for video and volumes: an ``nn.Conv3d`` whose kernel is
    masked by the isotropic ``M(t, y, x) = exp(-(t**2 + y**2 + x**2) /
    (2 sigma**2))`` (max 1), with one learnable sigma.

    Takes ``nn.Conv3d``'s arguments plus ``sigma_init`` (default 5, range
    :data:`~mmgmconv.ops.gaussian_mask.SIGMA_INIT_RANGE`); a kernel of at
    most 2 along every axis has nothing to mask and no sigma. A kernel of
    size 1 along an axis (e.g. ``(1, 3, 3)``, R(2+1)D's spatial conv) is
    masked along the others only. Registered as ``'SGMConv3d'``. Folds
    into an ``nn.Conv3d``.

    Shapes: input ``(B, C_in, T, H, W)`` or ``(C_in, T, H, W)``, output
    ``(B, C_out, T', H', W')`` or ``(C_out, T', H', W')``.
    """

    plain_conv = nn.Conv3d
