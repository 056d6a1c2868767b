"""Static GMConv for 1D and 3D convolutions: one learnable sigma."""
from mmengine.registry import MODELS
from torch import nn

from .sgm_conv import SGMConvMixin


@MODELS.register_module('SGMConv1d')
class SGMConv1d(SGMConvMixin, nn.Conv1d):
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
class SGMConv3d(SGMConvMixin, nn.Conv3d):
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
