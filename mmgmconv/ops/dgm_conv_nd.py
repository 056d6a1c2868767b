"""Dynamic GMConv for 1D and 3D convolutions: masks predicted per input."""
import math
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from .dgm_conv import (
    PER_IMAGE_MAX_GROUP_CHANNELS,
    conv_grouped,
    conv_patches,
    conv_per_image,
)
from .gaussian_mask import (
    check_sigma_init,
    check_sigma_value,
    gaussian_mask_nd,
)
from .sigma_predictor import SigmaPredictor

#: Prediction patterns of :class:`DGMConv1d` and the raw values each needs.
PRED_PATTERNS_1D = {'sigma': 1}

#: Prediction patterns of :class:`DGMConv3d` and the raw values each needs.
PRED_PATTERNS_3D = {'sigma': 1, 'sigma_per_axis': 3, 'sigma_temporal_ratio': 2}

#: The equivalent computations of the 1D / 3D D-GMConv (``impl``); the 2D
#: layer's ``'unfold'`` is missing: ``F.unfold`` takes 4-D inputs only.
CONV_PATHS_ND = {
    'grouped': conv_grouped,
    'per_image': conv_per_image,
    'patches': conv_patches,
}


def explicit_padding(conv: nn.Module) -> List[int]:
    """``conv``'s padding (ints, ``'same'`` or ``'valid'``) as the
    ``pad`` argument of ``F.pad``: ``(left, right)`` per spatial axis, the
    last axis first. ``'same'`` puts the odd one out on the right, as the
    convs of torch do."""
    pad = []
    for axis in reversed(range(len(conv.kernel_size))):
        if conv.padding == 'valid':
            pad += [0, 0]
        elif conv.padding == 'same':
            total = conv.dilation[axis] * (conv.kernel_size[axis] - 1)
            pad += [total // 2, total - total // 2]
        else:
            pad += [conv.padding[axis]] * 2
    return pad


class DGMConvNdMixin:
    """What :class:`DGMConv1d` and :class:`DGMConv3d` add to their
    ``nn.Conv1d`` / ``nn.Conv3d``: each input of the batch is convolved
    with its own mask, ``out[b] = conv(x[b], weight * M(sigmas[b]))``, the
    mask parameters predicted from ``x[b]`` by a :class:`SigmaPredictor`
    (eq. 7, global max and mean pooling over every spatial axis).

    The arguments are :class:`~mmgmconv.DGMConv`'s (``sigma_init``,
    ``reduction``, ``sigma_range``, ``impl``) with the same meaning, except:

    * ``pred_pattern``: one of the class's :attr:`pred_patterns`
      (``None``: :attr:`default_pattern`);
    * ``impl``: ``'auto'`` or one of :data:`CONV_PATHS_ND` (``'grouped'``,
      ``'per_image'``, ``'patches'``). ``'patches'`` is also used while
      exporting to ONNX, while tracing and for an empty batch, whatever
      ``impl`` says (the batch-independent path; in 2D tracing uses
      ``'unfold'``, which has no 1D / 3D form). A FLOP counter that traces
      the layer counts the one-hot convolution of ``'patches'`` as work.

    The predicted sigmas of the last batch are kept, detached, in
    ``last_sigmas``: ``(B, N)``, one column per kernel axis in the order of
    ``kernel_size`` (1D ``(l,)``, 3D ``(t, h, w)``).

    Each raw output ``o`` of the predictor becomes ``sigma_init *
    R**tanh(o)`` (a ratio ``R**tanh(o)``), the bounded mapping of the 2D
    layer; the predictor starts at zero, so every input first gets
    ``sigma_init`` on every axis.
    """

    #: Prediction patterns the class takes, and the raw values each needs.
    pred_patterns: dict
    #: The pattern used when ``pred_pattern`` is None.
    default_pattern: str
    #: Names of the spatial axes of the input, for error messages.
    spatial_names: tuple

    def __init__(self,
                 *args,
                 sigma_init: float = 5.0,
                 reduction: float = 4 / 3,
                 pred_pattern: Optional[str] = None,
                 sigma_range: float = 10.0,
                 impl: str = 'auto',
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.sigma_init = check_sigma_init(sigma_init)
        pred_pattern = self.default_pattern if pred_pattern is None else \
            pred_pattern
        if pred_pattern not in self.pred_patterns:
            raise ValueError(f'pred_pattern of {type(self).__name__} must be '
                             f'one of {sorted(self.pred_patterns)}, got '
                             f'{pred_pattern!r}')
        if check_sigma_value(sigma_range, 'sigma_range') <= 1:
            raise ValueError(f'sigma_range must be > 1, got {sigma_range!r}')
        if impl != 'auto' and impl not in CONV_PATHS_ND:
            raise ValueError(f"impl of {type(self).__name__} must be 'auto' "
                             f'or one of {sorted(CONV_PATHS_ND)}, got '
                             f'{impl!r}')
        self.impl = impl
        self.pred_pattern = pred_pattern
        self.log_sigma_range = math.log(sigma_range)
        self.sigma_predictor = SigmaPredictor(
            self.in_channels, self.pred_patterns[pred_pattern],
            reduction).to(self.weight.device)
        self.last_sigmas = None

    def reset_parameters(self) -> None:
        """The plain conv's initialisation of weight and bias and the
        predictor's (last FC at zero: ``sigma_init`` for every input)."""
        super().reset_parameters()
        # absent while the conv's __init__ calls this
        if getattr(self, 'sigma_predictor', None) is not None:
            self.sigma_predictor.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, *spatial)`` -> ``(B, C_out, *spatial')``, or
        unbatched ``(C_in, *spatial)`` -> ``(C_out, *spatial')``."""
        ndim = len(self.kernel_size)
        if (input.dim() not in (ndim + 1, ndim + 2)
                or input.shape[-ndim - 1] != self.in_channels):
            axes = ', '.join(self.spatial_names)
            raise ValueError(
                f'{type(self).__name__} expects input of shape (B, '
                f'{self.in_channels}, {axes}) or ({self.in_channels}, '
                f'{axes}) (in_channels={self.in_channels}), got '
                f'{tuple(input.shape)}')
        if input.dim() == ndim + 1:
            return super().forward(input[None])[0]
        return super().forward(input)

    def predict_sigmas(self, x: Tensor) -> Tensor:
        """The sigmas of each input of ``x``, ``(B, N)``: one column per
        kernel axis, in the order of ``kernel_size``."""
        raw = self.sigma_predictor(x)
        raw = raw.to(torch.promote_types(raw.dtype, torch.float32))
        scale = torch.exp(self.log_sigma_range * torch.tanh(raw))
        ndim = len(self.kernel_size)
        if self.pred_pattern == 'sigma':
            return (self.sigma_init * scale).expand(-1, ndim)
        if self.pred_pattern == 'sigma_per_axis':
            return self.sigma_init * scale
        # 'sigma_temporal_ratio': (sigma * ratio, sigma, sigma)
        spatial = self.sigma_init * scale[:, :1]
        return torch.cat([spatial * scale[:, 1:], spatial, spatial], dim=1)

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Tensor) -> Tensor:
        if 0 in input.shape[2:]:
            # nothing to predict from; padded, all zeros, which every mask
            # maps to the same output (or the plain conv's error)
            self.last_sigmas = input.new_full(
                (input.shape[0], len(self.kernel_size)), self.sigma_init)
            return super()._conv_forward(input, weight, bias)
        sigmas = self.predict_sigmas(input)
        self.last_sigmas = sigmas.detach()
        mask = gaussian_mask_nd(self.kernel_size, list(sigmas.unbind(1)))
        padding = self.padding
        if self.padding_mode != 'zeros' or isinstance(padding, str):
            # every path sees explicit zero padding
            mode = 'constant' if self.padding_mode == 'zeros' else \
                self.padding_mode
            input = F.pad(input, explicit_padding(self), mode)
            padding = (0, ) * len(self.kernel_size)
        conv = CONV_PATHS_ND[self.choose_path(input)]
        return conv(input, weight, mask, bias, padding, self)

    def choose_path(self, x: Tensor) -> str:
        """The computation for the (padded) input ``x``, a key of
        :data:`CONV_PATHS_ND`: ``'patches'`` while exporting to ONNX or
        tracing and for an empty batch; else ``impl`` if it is not
        ``'auto'``; else, on the CPU, ``'per_image'`` when a group has at
        most :data:`~mmgmconv.ops.dgm_conv.PER_IMAGE_MAX_GROUP_CHANNELS`
        input channels and ``'grouped'`` otherwise (the 2D layer's rule)."""
        if (torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()
                or x.shape[0] == 0):
            return 'patches'
        if self.impl != 'auto':
            return self.impl
        if (x.device.type == 'cpu' and self.in_channels // self.groups <=
                PER_IMAGE_MAX_GROUP_CHANNELS):
            return 'per_image'
        return 'grouped'

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, sigma_init={self.sigma_init}, '
                f'pred_pattern={self.pred_pattern!r}, impl={self.impl!r}')


@MODELS.register_module('DGMConv1d')
class DGMConv1d(DGMConvNdMixin, nn.Conv1d):
    """D-GMConv for sequences: an ``nn.Conv1d`` whose mask
    ``M(l) = exp(-l**2 / (2 sigma_b**2))`` (max 1) is predicted per input.

    One pattern, ``'sigma'``: one sigma per input (in 1D, one sigma and
    one per axis are the same thing). Takes ``nn.Conv1d``'s arguments and
    those of :class:`DGMConvNdMixin`; registered as ``'DGMConv1d'``.

    Shapes: input ``(B, C_in, L)`` or ``(C_in, L)``, output
    ``(B, C_out, L')`` or ``(C_out, L')``; ``last_sigmas`` ``(B, 1)``.
    """

    pred_patterns = PRED_PATTERNS_1D
    default_pattern = 'sigma'
    spatial_names = ('L', )


@MODELS.register_module('DGMConv3d')
class DGMConv3d(DGMConvNdMixin, nn.Conv3d):
    """D-GMConv for video and volumes: an ``nn.Conv3d`` whose mask
    ``M(t, y, x) = exp(-(t**2 / sigma_t**2 + y**2 / sigma_h**2 + x**2 /
    sigma_w**2) / 2)`` (max 1) is predicted per input.

    Prediction patterns (the paper's Table IV generalised, our choice):

    * ``'sigma'``: one sigma for all three axes (an isotropic mask);
    * ``'sigma_per_axis'``: ``(sigma_t, sigma_h, sigma_w)``, each
      ``sigma_init * R**tanh(o_i)``;
    * ``'sigma_temporal_ratio'`` (default): a spatial sigma ``s`` for both
      image axes (a circular mask in each frame, as S-GMConv) and a
      temporal ratio ``r``: ``(sigma_t, sigma_h, sigma_w) = (s * r, s,
      s)``. We chose a ratio over a second free sigma because the paper's
      best 2D pattern is a sigma and a ratio (Table IV), and for video the
      axis that differs in nature from the others is time.

    For a volume (CT, MRI) the first axis is depth, and the same patterns
    apply. Takes ``nn.Conv3d``'s arguments and those of
    :class:`DGMConvNdMixin`; registered as ``'DGMConv3d'``.

    Shapes: input ``(B, C_in, T, H, W)`` or ``(C_in, T, H, W)``, output
    ``(B, C_out, T', H', W')`` or ``(C_out, T', H', W')``;
    ``last_sigmas`` ``(B, 3)`` as ``(sigma_t, sigma_h, sigma_w)``.
    """

    pred_patterns = PRED_PATTERNS_3D
    default_pattern = 'sigma_temporal_ratio'
    spatial_names = ('T', 'H', 'W')
