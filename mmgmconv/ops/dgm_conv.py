"""Dynamic GMConv: a conv whose mask is predicted per input image."""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from .gaussian_mask import check_sigma_value, gaussian_mask
from .sigma_predictor import SigmaPredictor

#: Prediction patterns of Table IV and how many raw values each needs.
PRED_PATTERNS = {'sigma': 1, 'sigma1_sigma2': 2, 'sigma1_ratio': 2}


@MODELS.register_module('DGMConv')
class DGMConv(nn.Conv2d):
    """D-GMConv: each image is convolved with its own elliptical mask.

    Takes ``nn.Conv2d``'s arguments plus:

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

    All images are convolved at once by one grouped convolution with
    ``B * groups`` groups (as timm's ``CondConv2d``). The sigmas of the last
    batch are kept, detached, in ``last_sigmas`` (``(B, 2)``) for logging.

    Shapes: input ``(B, C_in, H, W)``, output ``(B, C_out, H', W')``.
    """

    def __init__(self,
                 *args,
                 sigma_init: float = 5.0,
                 reduction: float = 4 / 3,
                 pred_pattern: str = 'sigma1_ratio',
                 sigma_range: float = 10.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.sigma_init = check_sigma_value(sigma_init, 'sigma_init')
        if pred_pattern not in PRED_PATTERNS:
            raise ValueError(f'pred_pattern must be one of '
                             f'{sorted(PRED_PATTERNS)}, got {pred_pattern!r}')
        if check_sigma_value(sigma_range, 'sigma_range') <= 1:
            raise ValueError(f'sigma_range must be > 1, got {sigma_range!r}')
        self.pred_pattern = pred_pattern
        self.log_sigma_range = math.log(sigma_range)
        self.sigma_predictor = SigmaPredictor(
            self.in_channels, PRED_PATTERNS[pred_pattern],
            reduction).to(self.weight.device)
        self.last_sigmas = None

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
        sigma1, sigma2 = self.predict_sigmas(input)
        self.last_sigmas = torch.stack([sigma1, sigma2], dim=1).detach()
        mask = gaussian_mask(self.kernel_size, sigma1, sigma2)  # (B, kh, kw)
        batch = input.shape[0]
        weight = weight.unsqueeze(0) * mask.to(weight.dtype)[:, None, None]
        weight = weight.flatten(0, 1)  # (B * C_out, C_in / groups, kh, kw)
        if bias is not None:
            bias = bias.repeat(batch)
        x = input.reshape(1, -1, *input.shape[2:])
        padding = self.padding
        if self.padding_mode != 'zeros':
            x = F.pad(x, self._reversed_padding_repeated_twice,
                      mode=self.padding_mode)
            padding = 0
        out = F.conv2d(x, weight, bias, self.stride, padding, self.dilation,
                       self.groups * batch)
        return out.reshape(batch, self.out_channels, *out.shape[2:])

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, sigma_init={self.sigma_init}, '
                f'pred_pattern={self.pred_pattern!r}')
