"""Dynamic GMConv: a conv whose mask is predicted per input image."""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from .gaussian_mask import check_sigma_init, check_sigma_value, gaussian_mask
from .sigma_predictor import SigmaPredictor

#: Prediction patterns of Table IV and how many raw values each needs.
PRED_PATTERNS = {'sigma': 1, 'sigma1_sigma2': 2, 'sigma1_ratio': 2}

Pair = Tuple[int, int]

#: The functional convolution for 1, 2 and 3 spatial axes.
CONV_FUNCTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def conv_function(conv: nn.Module):
    """``F.conv1d``, ``F.conv2d`` or ``F.conv3d`` for ``conv``'s kernel."""
    return CONV_FUNCTIONS[len(conv.kernel_size)]


def masked_weights(weight: Tensor, mask: Tensor) -> Tensor:
    """One masked kernel per image, ``W * M_b`` (eq. 3-6): ``weight``
    ``(C_out, C_in / groups, *k)`` times ``mask`` ``(B, *k)`` gives
    ``(B, C_out, C_in / groups, *k)``, for a kernel ``k`` of any number of
    axes (``(kh, kw)`` in 2D)."""
    return weight.unsqueeze(0) * mask.to(weight.dtype)[:, None, None]


def conv_grouped(x: Tensor, weight: Tensor, mask: Tensor,
                 bias: Optional[Tensor], padding: Pair,
                 conv: nn.Conv2d) -> Tensor:
    """All images in one convolution with ``B * groups`` groups (as timm's
    ``CondConv2d``), each with its masked kernel. ``x`` is
    ``(B, C_in, H, W)``, ``B > 0``; ``weight`` the layer's
    ``(C_out, C_in / groups, kh, kw)``, ``mask`` ``(B, kh, kw)``; the output
    ``(B, C_out, H', W')``. The same for 1 and 3 spatial axes (``conv`` a
    ``nn.Conv1d`` / ``nn.Conv3d``, one size per axis in place of
    ``H, W`` and ``kh, kw``)."""
    batch = x.shape[0]
    if bias is not None:
        bias = bias.repeat(batch)
    conv_nd = conv_function(conv)
    out = conv_nd(x.reshape(1, -1, *x.shape[2:]),
                  masked_weights(weight, mask).flatten(0, 1), bias,
                  conv.stride, padding, conv.dilation, conv.groups * batch)
    return out.reshape(batch, -1, *out.shape[2:])


def conv_per_image(x: Tensor, weight: Tensor, mask: Tensor,
                   bias: Optional[Tensor], padding: Pair,
                   conv: nn.Conv2d) -> Tensor:
    """One dense convolution per image with its masked kernel, outputs
    concatenated (shapes as in :func:`conv_grouped`, ``B > 0``; 1 to 3
    spatial axes)."""
    conv_nd = conv_function(conv)
    return torch.cat([
        conv_nd(x_i[None], w_i, bias, conv.stride, padding, conv.dilation,
                conv.groups)
        for x_i, w_i in zip(x, masked_weights(weight, mask))
    ])


def conv_unfold(x: Tensor, weight: Tensor, mask: Tensor,
                bias: Optional[Tensor], padding: Pair,
                conv: nn.Conv2d) -> Tensor:
    """``im2col`` and one batched matmul per group with the masked kernels
    (shapes as in :func:`conv_grouped`, any ``B`` including 0; 2D only:
    ``F.unfold`` takes 4-D inputs). Nothing in
    it depends on the batch size, so a trace keeps a dynamic batch and
    image size; used while tracing (TorchScript, mmengine's FLOP counter,
    which counts its matmul as the conv it is) and for an empty batch."""
    batch, groups = x.shape[0], conv.groups
    cols = F.unfold(x, conv.kernel_size, conv.dilation, padding, conv.stride)
    cols = cols.view(batch, groups, cols.shape[1] // groups, cols.shape[2])
    weights = masked_weights(weight, mask).flatten(2)
    out = weights.view(batch, groups, conv.out_channels // groups,
                       weights.shape[2]) @ cols
    out_size = [(x.shape[i + 2] + 2 * padding[i] - conv.dilation[i] *
                 (conv.kernel_size[i] - 1) - 1) // conv.stride[i] + 1
                for i in (0, 1)]
    out = out.view(batch, conv.out_channels, *out_size)
    return out if bias is None else out + bias.to(out.dtype)[:, None, None]


def conv_patches(x: Tensor, weight: Tensor, mask: Tensor,
                 bias: Optional[Tensor], padding: Pair,
                 conv: nn.Conv2d) -> Tensor:
    """The masked convolution (eq. 3-6) as two convolutions shared by all
    images, with the mask applied to the patches in between (shapes as in
    :func:`conv_grouped`, any ``B`` including 0; written here for 2D, the
    same with 1 or 3 spatial axes):

    1. patches ``P = conv2d(x, E)`` with ``C_in`` groups and the layer's
       stride, padding and dilation, where the fixed one-hot kernel ``E``
       ``(C_in * kh * kw, 1, kh, kw)`` makes output channel
       ``c * kh * kw + k`` a copy of tap ``k`` of input channel ``c``:
       ``P`` is ``(B, C_in * kh * kw, H', W')``;
    2. ``P * M_b``: tap ``k`` of every channel of image ``b`` times
       ``M_b[k]`` (``mask`` ``(B, kh, kw)``);
    3. a 1x1 convolution with ``groups`` groups and the unmasked weight
       reshaped to ``(C_out, C_in / groups * kh * kw, 1, 1)``, plus bias.

    ``sum_{c,k} W[o,c,k] (M_b[k] P[c,k]) = sum_{c,k} (W[o,c,k] M_b[k])
    P[c,k]``: the masked convolution, up to rounding. Used while exporting
    to ONNX: it does not depend on the batch size and is made of ``Conv``
    and ``Mul`` nodes, which onnxruntime runs faster than the ``Gather``
    chains the exporter writes for ``F.unfold`` (figures in the benchmark
    docs). In PyTorch :func:`conv_unfold` is faster (oneDNN is slow on the
    one-hot convolution) and a FLOP counter would count the one-hot
    convolution as work, so tracing keeps :func:`conv_unfold`.
    """
    conv_nd, ndim = conv_function(conv), len(conv.kernel_size)
    spatial = (None, ) * ndim  # index that appends ndim axes of size 1
    taps = math.prod(conv.kernel_size)
    one_hot = torch.eye(taps, dtype=x.dtype, device=x.device).view(
        taps, 1, *conv.kernel_size).repeat(conv.in_channels, 1, *(1, ) * ndim)
    patches = conv_nd(x, one_hot, None, conv.stride, padding, conv.dilation,
                      conv.in_channels)
    tap_scale = mask.flatten(1).repeat(1, conv.in_channels)  # (B, C_in*kh*kw)
    patches = patches * tap_scale.to(patches.dtype)[(..., *spatial)]
    return conv_nd(patches, weight.flatten(1)[(..., *spatial)], bias,
                   groups=conv.groups)


#: On the CPU, ``impl='auto'`` convolves image by image when a group has at
#: most this many input channels (the stem: 3; RGBA: 4): oneDNN's grouped
#: convolution is slow for such thin groups, while for wider groups one
#: grouped call over the batch wins (figures in the benchmark docs).
PER_IMAGE_MAX_GROUP_CHANNELS = 4

#: The equivalent computations of D-GMConv, selected by ``DGMConv.impl``.
CONV_PATHS = {
    'grouped': conv_grouped,
    'per_image': conv_per_image,
    'unfold': conv_unfold,
    'patches': conv_patches,
}


@MODELS.register_module('DGMConv')
class DGMConv(nn.Conv2d):
    """D-GMConv: each image is convolved with its own elliptical mask.

    ``out[b] = conv(x[b], weight * M(sigma1[b], sigma2[b]))`` (eq. 3-6),
    with the mask parameters of image ``b`` predicted from ``x[b]`` by a
    :class:`SigmaPredictor` (eq. 7, Fig. 5). Takes ``nn.Conv2d``'s
    arguments plus:

    Args:
        sigma_init: ``sigma1`` (and ``sigma2``) every image gets at the
            start of training. Default 5.
        reduction: Reduction ratio of the sigma predictor (paper: 4/3).
        pred_pattern: What the predictor outputs (Table IV): ``'sigma'``
            (one sigma, circular mask), ``'sigma1_sigma2'`` or
            ``'sigma1_ratio'`` (default; ``sigma2 = sigma1 * r``).
        sigma_range: Bound ``R`` > 1 on the predictions. A raw output ``o``
            becomes ``sigma = sigma_init * R**tanh(o)`` (and a ratio
            ``r = R**tanh(o)``): positive, in ``(sigma_init / R,
            sigma_init * R)``, smooth, and exactly ``sigma_init`` (ratio 1)
            at ``o = 0``, where the predictor starts.
        impl: How the images are convolved with their kernels, one of
            :data:`CONV_PATHS` (equal results, different speed):
            ``'grouped'`` (one convolution with ``B * groups`` groups),
            ``'per_image'`` (one dense convolution per image),
            ``'unfold'`` (``im2col`` + batched matmul) or ``'patches'``
            (one-hot convolution, mask, 1x1 convolution), or ``'auto'``
            (default) to let :meth:`choose_path` pick. While exporting to
            ONNX ``'patches'``, and while tracing and for an empty batch
            ``'unfold'``, is used whatever ``impl`` says: these two do not
            depend on the batch size.

    The sigmas of the last batch are kept, detached, in ``last_sigmas``
    (``(B, 2)``) for logging.

    The paper gives eq. 7 and the three prediction patterns but not how the
    predictor's raw outputs become sigmas, nor where D-GMConv starts. These
    are this implementation's choices:

    * the mapping ``sigma_init * R**tanh(o)``: a raw linear output could be
      negative or zero (no valid mask) or explode; this keeps sigma
      positive and bounded, with a gradient everywhere;
    * ``sigma_init`` (default 5) for D-GMConv too: the paper's default
      initial sigma for S-GMConv (Sec. III; Fig. 6), so that a GMConv
      network starts with the same receptive field in every layer;
    * the predictor's last FC starts at zero (see :class:`SigmaPredictor`),
      so training starts from ``sigma = sigma_init`` for every image;
    * :func:`gaussian_mask` uses ``max(|sigma|, SIGMA_MIN)``; the bounded
      mapping never gets there unless ``sigma_init / R < SIGMA_MIN``.

    It accepts what ``nn.Conv2d`` accepts, with the same output shape: an
    unbatched ``(C_in, H, W)`` input, and an image with no pixels (its
    sigmas are ``sigma_init``: a zero-padded empty image is all zeros, so
    the mask does not matter). A wrong channel count is a ``ValueError``
    naming the expected and the given shape.

    Shapes: input ``(B, C_in, H, W)`` or ``(C_in, H, W)``, output
    ``(B, C_out, H', W')`` or ``(C_out, H', W')``.
    """

    def __init__(self,
                 *args,
                 sigma_init: float = 5.0,
                 reduction: float = 4 / 3,
                 pred_pattern: str = 'sigma1_ratio',
                 sigma_range: float = 10.0,
                 impl: str = 'auto',
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.sigma_init = check_sigma_init(sigma_init)
        if pred_pattern not in PRED_PATTERNS:
            raise ValueError(f'pred_pattern must be one of '
                             f'{sorted(PRED_PATTERNS)}, got {pred_pattern!r}')
        if check_sigma_value(sigma_range, 'sigma_range') <= 1:
            raise ValueError(f'sigma_range must be > 1, got {sigma_range!r}')
        if impl != 'auto' and impl not in CONV_PATHS:
            raise ValueError(f"impl must be 'auto' or one of "
                             f'{sorted(CONV_PATHS)}, got {impl!r}')
        self.impl = impl
        self.pred_pattern = pred_pattern
        self.log_sigma_range = math.log(sigma_range)
        self.sigma_predictor = SigmaPredictor(
            self.in_channels, PRED_PATTERNS[pred_pattern],
            reduction).to(self.weight.device)
        self.last_sigmas = None

    def reset_parameters(self) -> None:
        """``nn.Conv2d``'s initialisation of weight and bias and the
        predictor's (last FC at zero: ``sigma = sigma_init`` for every
        image), e.g. after ``to_empty()``."""
        super().reset_parameters()
        # absent while nn.Conv2d.__init__ calls this
        if getattr(self, 'sigma_predictor', None) is not None:
            self.sigma_predictor.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, H, W)`` -> ``(B, C_out, H', W')``, or unbatched
        ``(C_in, H, W)`` -> ``(C_out, H', W')`` as ``nn.Conv2d``."""
        if input.dim() not in (3, 4) or input.shape[-3] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects input of shape (B, '
                f'{self.in_channels}, H, W) or ({self.in_channels}, H, W) '
                f'(in_channels={self.in_channels}), got '
                f'{tuple(input.shape)}')
        if input.dim() == 3:
            return super().forward(input[None])[0]
        return super().forward(input)

    def predict_sigmas(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """``(sigma1, sigma2)`` for each image of ``x``, each ``(B,)``."""
        raw = self.sigma_predictor(x)
        raw = raw.to(torch.promote_types(raw.dtype, torch.float32))
        scale = torch.exp(self.log_sigma_range * torch.tanh(raw))
        sigma1 = self.sigma_init * scale[:, 0]
        if self.pred_pattern == 'sigma':
            return sigma1, sigma1
        if self.pred_pattern == 'sigma1_sigma2':
            return sigma1, self.sigma_init * scale[:, 1]
        return sigma1, sigma1 * scale[:, 1]

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Tensor) -> Tensor:
        if input.shape[-1] == 0 or input.shape[-2] == 0:
            # an empty image has nothing to predict from and, padded, is all
            # zeros, which every mask maps to the same output: nn.Conv2d's
            # (or its error); the image's sigmas are sigma_init
            self.last_sigmas = input.new_full((input.shape[0], 2),
                                              self.sigma_init)
            return super()._conv_forward(input, weight, bias)
        sigma1, sigma2 = self.predict_sigmas(input)
        self.last_sigmas = torch.stack([sigma1, sigma2], dim=1).detach()
        mask = gaussian_mask(self.kernel_size, sigma1, sigma2)  # (B, kh, kw)
        padding = self.padding
        if self.padding_mode != 'zeros' or isinstance(padding, str):
            # 'same'/'valid' and reflect/replicate/circular padding are
            # applied here, so that every path sees explicit zero padding
            mode = 'constant' if self.padding_mode == 'zeros' else \
                self.padding_mode
            input = F.pad(input, self._reversed_padding_repeated_twice, mode)
            padding = (0, 0)
        conv = CONV_PATHS[self.choose_path(input)]
        return conv(input, weight, mask, bias, padding, self)

    def choose_path(self, x: Tensor) -> str:
        """The computation for the (padded) input ``x``, a key of
        :data:`CONV_PATHS`.

        ``'patches'`` while exporting to ONNX and ``'unfold'`` while
        tracing otherwise and for an empty batch (the two paths that do not
        depend on the batch size; the faster one in onnxruntime and in
        PyTorch respectively); else
        ``impl`` if it is not ``'auto'``; else, on the CPU,
        ``'per_image'`` when a group has at most
        :data:`PER_IMAGE_MAX_GROUP_CHANNELS` input channels and
        ``'grouped'`` otherwise (on other devices ``'grouped'``). The paths
        give equal results; the rule only picks the cheaper one.
        """
        if torch.onnx.is_in_onnx_export():
            return 'patches'
        if torch.jit.is_tracing() or x.shape[0] == 0:
            return 'unfold'
        if self.impl != 'auto':
            return self.impl
        if (x.device.type == 'cpu' and self.in_channels // self.groups <=
                PER_IMAGE_MAX_GROUP_CHANNELS):
            return 'per_image'
        return 'grouped'

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, sigma_init={self.sigma_init}, '
                f'pred_pattern={self.pred_pattern!r}, impl={self.impl!r}')
