"""Dynamic GMConv for 1D and 3D convolutions: masks predicted per input."""
from typing import List

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from .dgm_conv import (
    DGMConvMixin,
    conv_grouped,
    conv_patches,
    conv_per_image,
)
from .gaussian_mask import gaussian_mask_nd

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


class DGMConvNdMixin(DGMConvMixin):
    """What :class:`DGMConv1d` and :class:`DGMConv3d` add to their
    ``nn.Conv1d`` / ``nn.Conv3d``: each input of the batch is convolved
    with its own mask, ``out[b] = conv(x[b], weight * M(sigmas[b]))``, the
    mask parameters predicted from ``x[b]`` by a :class:`SigmaPredictor`
    (eq. 7, global max and mean pooling over every spatial axis).

    The arguments are :class:`~mmgmconv.DGMConv`'s (``sigma_init``,
    ``reduction``, ``sigma_range``, ``impl``) with the same meaning, and
    the rules of every D-GMConv
    (:class:`~mmgmconv.ops.dgm_conv.DGMConvMixin`: a kernel of at most 2
    along every axis is a plain conv without predictor, a non-finite input
    is an error naming the input), except:

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

    conv_paths = CONV_PATHS_ND

    def predict_sigmas(self, x: Tensor) -> Tensor:
        """The sigmas of each input of ``x``, ``(B, N)``: one column per
        kernel axis, in the order of ``kernel_size``."""
        return self.sigmas_from_raw(self.predict_raw(x))

    def sigmas_from_raw(self, raw: Tensor) -> Tensor:
        """The sigmas ``(B, N)`` from the predictor's raw outputs."""
        scale = torch.exp(self.log_sigma_range * torch.tanh(raw))
        ndim = len(self.kernel_size)
        if self.pred_pattern == 'sigma':
            return (self.sigma_init * scale).expand(-1, ndim)
        if self.pred_pattern == 'sigma_per_axis':
            return self.sigma_init * scale
        # 'sigma_temporal_ratio': (sigma * ratio, sigma, sigma)
        spatial = self.sigma_init * scale[:, :1]
        return torch.cat([spatial * scale[:, 1:], spatial, spatial], dim=1)

    def masked_conv(self, input: Tensor, weight: Tensor, bias: Tensor,
                    raw: Tensor) -> Tensor:
        """Each input of ``input`` (``(B, C_in, *spatial)``, ``B > 0``)
        convolved with ``weight`` times its mask, from the raw predictions
        ``raw``."""
        sigmas = self.sigmas_from_raw(raw)
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
        return self.batch_path(x)


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
