"""Dynamic GMConv: a conv whose mask is predicted per input image."""
import logging
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.registry import MODELS
from torch import Tensor, nn

from .gaussian_mask import (
    assert_all,
    check_sigma_init,
    check_sigma_value,
    gaussian_mask,
)
from .sgm_conv import mask_is_all_ones
from .sigma_predictor import SigmaPredictor, hidden_units

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


class DGMConvMixin:
    """What every D-GMConv adds to its plain conv (:class:`DGMConv` in 2D,
    :class:`~mmgmconv.ops.dgm_conv_nd.DGMConv1d` and ``DGMConv3d``): the
    argument checks, the sigma predictor, the checks of the input, the
    loading rules and the forward, which hands the masked convolution to
    the class's ``masked_conv(input, weight, bias, raw)``.

    Rules every D-GMConv follows (the paper is silent on them; our
    choices):

    * **Nothing to mask, no predictor.** A kernel of at most 2 taps along
      every axis (1x1, 2x2, 1x2, ...: S-GMConv's rule,
      :func:`~mmgmconv.ops.sgm_conv.mask_is_all_ones`) has a mask of all
      ones whatever sigma is, so a predictor there would never change an
      output nor get a gradient. Such a layer is a plain conv:
      ``sigma_predictor`` and ``last_sigmas`` are None, its arguments are
      still checked, and the backbones' build log counts it
      (:func:`~mmgmconv.models.utils.gmconv_layout.log_gmconv_layout`).
      A checkpoint holding a predictor for it (mmgmconv 0.1.0 built one)
      loads: the ``sigma_predictor.*`` keys are dropped with a warning in
      the log naming the layer, and the layer computes what it did.
    * **The input is checked.** An image with a NaN or inf in the input
      is a ``ValueError`` saying so, naming the layer
      (:attr:`layer_name`) and the images of the batch; a non-finite
      sigma predicted from a finite input is the weights' fault
      (:func:`~mmgmconv.ops.gaussian_mask.check_sigma_finite`: a diverged
      step or a broken checkpoint). Both checks are made on ``(B, 2C)``
      and ``(B,)`` tensors, through
      :func:`~mmgmconv.ops.gaussian_mask.assert_all` (no host
      synchronisation on an accelerator, where the message cannot name the
      images).
    """

    #: Prediction patterns the class takes, and the raw values each needs.
    pred_patterns: dict
    #: The pattern used when ``pred_pattern`` is None.
    default_pattern: str
    #: The class's computations, selected by ``impl``.
    conv_paths: dict
    #: Names of the spatial axes of the input, for error messages.
    spatial_names: tuple
    #: The layer's name in its model, for error messages (the mmgmconv
    #: backbones set it at build: ``'GMResNet.layer1.0.conv2'``); None: the
    #: messages describe the layer by its shape.
    layer_name: Optional[str] = None

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
        if impl != 'auto' and impl not in self.conv_paths:
            raise ValueError(f"impl of {type(self).__name__} must be 'auto' "
                             f'or one of {sorted(self.conv_paths)}, got '
                             f'{impl!r}')
        self.impl = impl
        self.pred_pattern = pred_pattern
        self.log_sigma_range = math.log(sigma_range)
        if mask_is_all_ones(self.kernel_size):
            hidden_units(self.in_channels, reduction)  # the argument check
            self.register_module('sigma_predictor', None)
        else:
            self.sigma_predictor = SigmaPredictor(
                self.in_channels, self.pred_patterns[pred_pattern],
                reduction).to(self.weight.device)
        self.last_sigmas = None

    def reset_parameters(self) -> None:
        """The plain conv's initialisation of weight and bias and the
        predictor's (last FC at zero: ``sigma_init`` for every input), e.g.
        after ``to_empty()``."""
        super().reset_parameters()
        # absent while the conv's __init__ calls this; None without a mask
        if getattr(self, 'sigma_predictor', None) is not None:
            self.sigma_predictor.reset_parameters()

    def describe(self) -> str:
        """The layer in error messages: its class and :attr:`layer_name`,
        or its class and shape."""
        if self.layer_name:
            return f'{type(self).__name__} {self.layer_name}'
        return (f'{type(self).__name__}({self.in_channels}, '
                f'{self.out_channels}, kernel_size={self.kernel_size})')

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, *spatial)`` -> ``(B, C_out, *spatial')``, or
        unbatched ``(C_in, *spatial)`` -> ``(C_out, *spatial')``, as the
        plain conv; a wrong shape is a ``ValueError`` naming the expected
        and the given one."""
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

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Tensor) -> Tensor:
        if self.sigma_predictor is None:  # nothing to mask
            return super()._conv_forward(input, weight, bias)
        if 0 in input.shape[2:]:
            # an empty image has nothing to predict from and, padded, is all
            # zeros, which every mask maps to the same output: the plain
            # conv's (or its error); the image's sigmas are sigma_init
            self.last_sigmas = input.new_full(
                (input.shape[0], len(self.kernel_size)), self.sigma_init)
            return super()._conv_forward(input, weight, bias)
        return self.masked_conv(input, weight, bias,
                                self.predict_raw(input))

    def batch_path(self, x: Tensor) -> str:
        """The computation for a batch ``x`` outside export and tracing:
        ``impl`` if it is not ``'auto'``; else, on the CPU,
        ``'per_image'`` when a group has at most
        :data:`PER_IMAGE_MAX_GROUP_CHANNELS` input channels and
        ``'grouped'`` otherwise (on other devices ``'grouped'``)."""
        if self.impl != 'auto':
            return self.impl
        if (x.device.type == 'cpu' and self.in_channels // self.groups <=
                PER_IMAGE_MAX_GROUP_CHANNELS):
            return 'per_image'
        return 'grouped'

    def predict_raw(self, x: Tensor) -> Tensor:
        """The predictor's raw outputs for each image of ``x`` (``(B,
        C_in, *spatial)``, not empty), ``(B, N)`` in at least float32,
        after checking that every image of ``x`` is finite."""
        if self.sigma_predictor is None:
            raise ValueError(
                f'{self.describe()} has no sigma predictor: a kernel of '
                f'{self.kernel_size} has nothing to mask')
        z = self.sigma_predictor.pool(x)
        assert_all(
            z, lambda z: torch.isfinite(z).all(dim=1),
            f'{self.describe()}: the input to this layer has NaN or inf '
            f'values in some image of the batch (from the data or an '
            f'earlier layer, not from this layer\'s weights)',
            lambda finite: self._bad_images(x, finite))
        raw = self.sigma_predictor.head(z)
        return raw.to(torch.promote_types(raw.dtype, torch.float32))

    @staticmethod
    def _bad_images(x: Tensor, finite: Tensor) -> str:
        """Which images of ``x`` are not finite, and how many values."""
        bad = (~finite).nonzero().flatten().tolist()
        counts = [int((~torch.isfinite(x[b])).sum()) for b in bad]
        if not any(counts):
            return (f'image(s) {bad} of the batch of {x.shape[0]} are '
                    f'finite but so large that their mean overflows '
                    f'{x.dtype}')
        return (f'image(s) {bad} of the batch of {x.shape[0]} hold '
                f'{counts} non-finite values')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if self.sigma_predictor is None:
            dead = [key for key in state_dict
                    if key.startswith(prefix + 'sigma_predictor.')]
            if dead:
                for key in dead:
                    del state_dict[key]
                print_log(
                    f'{prefix[:-1] or type(self).__name__}: dropped the '
                    f'checkpoint\'s sigma predictor ({", ".join(dead)}): '
                    f'this {type(self).__name__} has a kernel of '
                    f'{self.kernel_size}, which has nothing to mask (its '
                    f'mask is all ones), so it has no predictor and the '
                    f'checkpoint\'s never changed an output (mmgmconv '
                    f'0.1.0 built one). The layer computes what it did.',
                    logger='current',
                    level=logging.WARNING)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, sigma_init={self.sigma_init}, '
                f'pred_pattern={self.pred_pattern!r}, impl={self.impl!r}')


@MODELS.register_module('DGMConv')
class DGMConv(DGMConvMixin, nn.Conv2d):
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
            ``'sigma1_ratio'`` (default, also for None; ``sigma2 = sigma1 *
            r``).
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
      mapping never gets there unless ``sigma_init / R < SIGMA_MIN``;
    * a kernel of at most 2x2 is a plain conv without predictor, and a
      non-finite input is an error naming the input
      (:class:`DGMConvMixin`).

    It accepts what ``nn.Conv2d`` accepts, with the same output shape: an
    unbatched ``(C_in, H, W)`` input, and an image with no pixels (its
    sigmas are ``sigma_init``: a zero-padded empty image is all zeros, so
    the mask does not matter). A wrong channel count is a ``ValueError``
    naming the expected and the given shape.

    Shapes: input ``(B, C_in, H, W)`` or ``(C_in, H, W)``, output
    ``(B, C_out, H', W')`` or ``(C_out, H', W')``.
    """

    pred_patterns = PRED_PATTERNS
    default_pattern = 'sigma1_ratio'
    conv_paths = CONV_PATHS
    spatial_names = ('H', 'W')

    def predict_sigmas(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """``(sigma1, sigma2)`` for each image of ``x``, each ``(B,)``."""
        return self.sigmas_from_raw(self.predict_raw(x))

    def sigmas_from_raw(self, raw: Tensor) -> Tuple[Tensor, Tensor]:
        """``(sigma1, sigma2)``, each ``(B,)``, from the predictor's raw
        outputs ``(B, N)``."""
        scale = torch.exp(self.log_sigma_range * torch.tanh(raw))
        sigma1 = self.sigma_init * scale[:, 0]
        if self.pred_pattern == 'sigma':
            return sigma1, sigma1
        if self.pred_pattern == 'sigma1_sigma2':
            return sigma1, self.sigma_init * scale[:, 1]
        return sigma1, sigma1 * scale[:, 1]

    def masked_conv(self, input: Tensor, weight: Tensor, bias: Tensor,
                    raw: Tensor) -> Tensor:
        """Each image of ``input`` (``(B, C_in, H, W)``, ``B > 0``)
        convolved with ``weight`` times its mask, from the raw predictions
        ``raw`` (``(B, N)``)."""
        sigma1, sigma2 = self.sigmas_from_raw(raw)
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
        return self.batch_path(x)
