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

#: Allowed ``sigma_init`` of the GMConv layers, ``[SIGMA_MIN, 1e4]`` (our
#: choice; the paper uses 1, 5 and 10). Below ``SIGMA_MIN`` the mask is the
#: 1x1 delta of ``SIGMA_MIN`` and sigma gets no gradient (the floor is a
#: clamp); above ``1e4`` the mask of an 11x11 kernel (AlexNet's stem)
#: differs from all ones by less than ``5**2 / 2 / 1e8``, so sigma's gradient
#: (``~ x**2 / sigma**3``) vanishes in float32, and values that do not fit
#: float32 (``1e300`` would become ``inf``, ``1e-300`` zero) are far outside.
SIGMA_INIT_RANGE = (SIGMA_MIN, 1e4)

SigmaLike = Union[float, Tensor]

#: Whether torch.compile is tracing (``torch.compiler.is_compiling`` where
#: torch has it, ``torch._dynamo.is_compiling`` on older torch).
_is_compiling = getattr(torch.compiler, 'is_compiling', None) or \
    torch._dynamo.is_compiling


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


def check_sigma_init(value: Real, name: str = 'sigma_init') -> float:
    """Return ``value`` as a float if it lies in :data:`SIGMA_INIT_RANGE`,
    else raise a ``ValueError`` naming it and the range."""
    value = check_sigma_value(value, name)
    low, high = SIGMA_INIT_RANGE
    if not low <= value <= high:
        raise ValueError(f'{name} must be in [{low:g}, {high:g}] (a sigma '
                         f'outside gives a delta or an all-ones mask with no '
                         f'gradient), got {value!r}')
    return value


def check_sigma_finite(sigma: Tensor, name: str) -> None:
    """Raise if a sigma tensor holds NaN or inf (no mask exists for them).

    On the CPU the check is a plain ``if`` and raises a ``ValueError``
    naming the values. On an accelerator it is ``torch._assert_async``: a
    Python ``if`` on a CUDA tensor would wait for the device at every
    GMConv layer of every step, where the asynchronous assert stops the
    run at the next synchronisation without stalling the pipeline. Skipped
    on the meta device and while tracing or exporting to ONNX, where there
    are no values to check (our choice: the check costs nothing in the
    eager CPU case and no synchronisation elsewhere).
    """
    if (sigma.device.type == 'meta' or torch.jit.is_tracing()
            or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()):
        return
    finite = torch.isfinite(sigma.detach()).all()
    message = (f'gaussian_mask: {name} must be finite, got a NaN or inf '
               f'sigma (a diverged training step or a broken checkpoint)')
    if sigma.device.type == 'cpu' and not _is_compiling():
        if not finite:
            raise ValueError(f'{message}: {sigma.detach().tolist()}')
    else:
        torch._assert_async(finite, message)


def _as_sigma_tensor(sigma: SigmaLike, name: str,
                     device: Optional[torch.device]) -> Tensor:
    if isinstance(sigma, Tensor):
        if sigma.dim() > 1:
            raise ValueError(f'{name} must have shape () or (B,), got '
                             f'{tuple(sigma.shape)}')
        check_sigma_finite(sigma, name)
        return sigma
    tensor = torch.tensor(check_sigma_value(sigma, name), device=device)
    if not torch.isfinite(tensor) or tensor == 0:
        raise ValueError(f'{name}={sigma!r} does not fit float32 (it becomes '
                         f'{tensor.item()}); use a sigma in '
                         f'[{SIGMA_INIT_RANGE[0]:g}, {SIGMA_INIT_RANGE[1]:g}]')
    return tensor


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
            ``(B,)``. Tensor values enter as ``max(|sigma|, SIGMA_MIN)``;
            a NaN or inf raises (:func:`check_sigma_finite`).
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
