"""Max-normalised Gaussian receptive-field masks (GMConv paper, eq. 3-6)."""
import math
from numbers import Real
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

#: Smallest |sigma| used when building a mask. The mask depends on sigma only
#: through sigma**2, so the sign is irrelevant; clamping the magnitude keeps
#: ``x**2 / sigma**2`` finite (at this value a mask is a 1x1 delta).
SIGMA_MIN = 1e-3

SigmaLike = Union[float, Tensor]


def to_2tuple_positive(kernel_size: Union[int, Tuple[int, int]],
                       name: str = 'kernel_size') -> Tuple[int, int]:
    """Return ``(kh, kw)`` from an int or a pair, each a positive int."""
    pair = (kernel_size, kernel_size) if isinstance(kernel_size,
                                                    int) else kernel_size
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(k, int) and not isinstance(k, bool)
                       for k in pair) or min(pair) <= 0):
        raise ValueError(f'{name} must be a positive int or a pair of '
                         f'positive ints, got {kernel_size!r}')
    return tuple(pair)


def check_sigma_value(value: Real, name: str) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f'{name} must be a real number, got {value!r}')
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f'{name} must be finite and > 0, got {value!r}')
    return float(value)


def _as_sigma_tensor(sigma: SigmaLike, name: str,
                     device: Optional[torch.device]) -> Tensor:
    if isinstance(sigma, Tensor):
        if sigma.dim() > 1:
            raise ValueError(f'{name} must have shape () or (B,), got '
                             f'{tuple(sigma.shape)}')
        return sigma
    return torch.tensor(check_sigma_value(sigma, name), device=device)


def gaussian_mask(kernel_size: Union[int, Tuple[int, int]],
                  sigma1: SigmaLike,
                  sigma2: Optional[SigmaLike] = None) -> Tensor:
    """Max-normalised Gaussian mask centred on a kernel.

    ``M(y, x) = exp(-(x**2 / sigma1**2 + y**2 / sigma2**2) / 2)`` divided by
    its maximum over the kernel, where ``x`` / ``y`` are the column / row
    offsets from the kernel centre ``(k - 1) / 2``. The largest value is
    exactly 1 (also for even kernels, whose centre falls between taps).
    Computed in log space in float32 (float64 if ``sigma1`` is float64), so
    it never overflows, and differentiable in both sigmas.

    Args:
        kernel_size: ``k`` or ``(kh, kw)``.
        sigma1: Width along x: a float > 0, or a tensor of shape ``()`` or
            ``(B,)``. Tensor values enter as ``max(|sigma|, SIGMA_MIN)``.
        sigma2: Width along y, the same shape as ``sigma1``; ``None`` gives a
            circular mask (``sigma2 = sigma1``).

    Returns:
        Tensor: ``(kh, kw)`` for a scalar sigma, ``(B, kh, kw)`` for ``(B,)``.

    The ``max(|sigma|, SIGMA_MIN)`` is this implementation's choice; the
    paper does not say what a learned sigma at or below zero means. The
    mask depends on sigma only through ``sigma**2``, so ``|sigma|`` gives
    the same mask and keeps a gradient, where a clamp of sigma itself would
    leave a sigma pushed below zero by SGD stuck with no gradient; the
    floor keeps ``x**2 / sigma**2`` finite (a 1x1 delta mask) instead of
    producing NaN at ``sigma = 0``.
    """
    kh, kw = to_2tuple_positive(kernel_size)
    device = sigma1.device if isinstance(sigma1, Tensor) else None
    s1 = _as_sigma_tensor(sigma1, 'sigma1', device)
    s2 = s1 if sigma2 is None else _as_sigma_tensor(sigma2, 'sigma2',
                                                    s1.device)
    if s2.shape != s1.shape:
        raise ValueError(f'sigma2 must have the shape of sigma1 '
                         f'{tuple(s1.shape)}, got {tuple(s2.shape)}')
    dtype = torch.float64 if s1.dtype == torch.float64 else torch.float32
    s1 = s1.to(dtype).abs().clamp_min(SIGMA_MIN)[..., None, None]
    s2 = s2.to(dtype).abs().clamp_min(SIGMA_MIN)[..., None, None]
    ys = torch.arange(kh, dtype=dtype, device=s1.device) - (kh - 1) / 2
    xs = torch.arange(kw, dtype=dtype, device=s1.device) - (kw - 1) / 2
    log_mask = -0.5 * ((xs**2)[None, :] / s1**2 + (ys**2)[:, None] / s2**2)
    log_mask = log_mask - log_mask.amax(dim=(-2, -1), keepdim=True)
    return log_mask.exp()
