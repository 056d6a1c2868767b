"""Max-normalised Gaussian receptive-field masks (GMConv paper, eq. 3-6)."""
import math
from numbers import Real
from typing import Callable, Optional, Sequence, Tuple, Union

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
                         f'positive ints, got {kernel_size!r} (1D and 3D '
                         f'kernels: gaussian_mask_nd)')
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


def assert_all(values: Tensor, test: Callable[[Tensor], Tensor],
               message: str, detail: Callable[[Tensor], str]) -> None:
    """Raise unless every value of the bool tensor ``ok = test(values)`` is
    True.

    On the CPU the check is a plain ``if`` and raises a ``ValueError``
    ``f'{message}: {detail(ok)}'`` (``detail`` is called only then, so it
    may look at values). On an accelerator it is ``torch._assert_async`` with
    ``message``: a Python ``if`` on a CUDA tensor would wait for the device
    at every GMConv layer of every step, where the asynchronous assert
    stops the run at the next synchronisation without stalling the
    pipeline. Skipped (``test`` not called, so a traced graph holds no
    check) on the meta device and while tracing or exporting to ONNX,
    where there are no values to check (our choice: the check costs
    nothing in the eager CPU case and no synchronisation elsewhere). The
    one way the GMConv layers check values in ``forward``.
    """
    if (values.device.type == 'meta' or torch.jit.is_tracing()
            or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()):
        return
    ok = test(values.detach())
    if values.device.type == 'cpu' and not _is_compiling():
        if not ok.all():
            raise ValueError(f'{message}: {detail(ok)}')
    else:
        torch._assert_async(ok.all(), message)


def check_sigma_finite(sigma: Tensor, name: str) -> None:
    """Raise if a sigma tensor holds NaN or inf (no mask exists for them),
    through :func:`assert_all` (a ``ValueError`` naming the values on the
    CPU, an asynchronous assert elsewhere)."""
    assert_all(
        sigma, torch.isfinite,
        f'gaussian_mask: {name} must be finite, got a NaN or inf sigma (a '
        f'diverged training step or a broken checkpoint)',
        lambda _: str(sigma.detach().tolist()))


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
    """Max-normalised Gaussian mask centred on a 2D kernel.

    ``M(y, x) = exp(-(x**2 / sigma1**2 + y**2 / sigma2**2) / 2)`` divided by
    its maximum over the kernel, where ``x`` / ``y`` are the column / row
    offsets from the kernel centre ``(k - 1) / 2``. The largest value is
    exactly 1 (also for even kernels, whose centre falls between taps).
    Computed in log space in float32 (float64 if ``sigma1`` is float64), so
    it never overflows, and differentiable in both sigmas. The 2D case of
    :func:`gaussian_mask_nd` (``sigmas = (sigma2, sigma1)``, rows first).

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
    kernel_size = to_2tuple_positive(kernel_size)
    sigma2 = sigma1 if sigma2 is None else sigma2
    return _mask(kernel_size, (sigma2, sigma1), ('sigma2', 'sigma1'), ref=1)


def to_ntuple_positive(kernel_size: Sequence[int],
                       name: str = 'kernel_size') -> Tuple[int, ...]:
    """Return ``kernel_size`` as a tuple of 1, 2 or 3 positive ints (one
    per spatial axis), else raise a ``ValueError`` naming it."""
    if (not isinstance(kernel_size, (tuple, list))
            or len(kernel_size) not in (1, 2, 3)
            or not all(isinstance(k, int) and not isinstance(k, bool)
                       for k in kernel_size) or min(kernel_size) <= 0):
        raise ValueError(f'{name} must be a tuple of 1, 2 or 3 positive ints '
                         f'(one per spatial axis), got {kernel_size!r}')
    return tuple(kernel_size)


def gaussian_mask_nd(kernel_size: Sequence[int],
                     sigmas: Union[SigmaLike, Sequence[SigmaLike]]) -> Tensor:
    """Max-normalised Gaussian mask centred on a 1D, 2D or 3D kernel.

    ``M(p) = exp(-sum_i p_i**2 / sigma_i**2 / 2)`` divided by its maximum
    over the kernel, where ``p_i`` is the offset of a tap from the kernel
    centre ``(k_i - 1) / 2`` along axis ``i`` (eq. 3-6 with one term per
    axis). As :func:`gaussian_mask`: the largest value is exactly 1 (even
    kernels too), computed in log space in float32 (float64 if the first
    sigma is float64), finite for every finite sigma, sigmas entering as
    ``max(|sigma|, SIGMA_MIN)``, differentiable in every sigma. A 2D call
    gives bit for bit what :func:`gaussian_mask` gives.

    Args:
        kernel_size: ``(k,)``, ``(kh, kw)`` or ``(kt, kh, kw)``: one size
            per spatial axis, in the order of a conv's ``kernel_size``.
        sigmas: One sigma for every axis (an isotropic mask), or a tuple or
            list of one sigma per axis in the order of ``kernel_size``.
            Each is a float > 0 or a tensor of shape ``()`` or ``(B,)``,
            all of the same shape.

    Returns:
        Tensor: ``kernel_size`` for scalar sigmas, ``(B, *kernel_size)``
        for ``(B,)`` sigmas.
    """
    kernel_size = to_ntuple_positive(kernel_size)
    ndim = len(kernel_size)
    if not isinstance(sigmas, (tuple, list)):
        sigmas = (sigmas, ) * ndim
    if len(sigmas) != ndim:
        raise ValueError(f'sigmas must be one sigma or {ndim} (one per axis '
                         f'of kernel_size {kernel_size}), got {len(sigmas)}')
    return _mask(kernel_size, tuple(sigmas),
                 tuple(f'sigmas[{i}]' for i in range(ndim)))


def _mask(kernel_size: Tuple[int, ...], sigmas: Tuple[SigmaLike, ...],
          names: Tuple[str, ...], ref: int = 0) -> Tensor:
    """The mask of :func:`gaussian_mask_nd` for checked ``kernel_size``
    and one sigma per axis (``names`` for the errors); ``sigmas[ref]``
    gives the device, the dtype and the shape the others must have."""
    device = sigmas[ref].device if isinstance(sigmas[ref], Tensor) else None
    converted = {}  # a sigma given for several axes is checked once
    for i in (ref, *range(len(sigmas))):
        if id(sigmas[i]) not in converted:
            converted[id(sigmas[i])] = _as_sigma_tensor(
                sigmas[i], names[i], device)
    tensors = [converted[id(s)] for s in sigmas]
    for tensor, name in zip(tensors, names):
        if tensor.shape != tensors[ref].shape:
            raise ValueError(f'{name} must have the shape of {names[ref]} '
                             f'{tuple(tensors[ref].shape)}, got '
                             f'{tuple(tensor.shape)}')
    dtype = torch.float64 if tensors[ref].dtype == torch.float64 else \
        torch.float32
    device = tensors[ref].device
    ndim = len(kernel_size)
    spread = None  # sum_i p_i**2 / sigma_i**2, (..., *kernel_size)
    for axis, (size, sigma) in enumerate(zip(kernel_size, tensors)):
        sigma = sigma.to(dtype).abs().clamp_min(SIGMA_MIN)[(..., ) +
                                                           (None, ) * ndim]
        offsets = torch.arange(size, dtype=dtype, device=device) - \
            (size - 1) / 2
        shape = [1] * ndim
        shape[axis] = size
        term = (offsets**2).view(shape) / sigma**2
        spread = term if spread is None else spread + term
    log_mask = -0.5 * spread
    log_mask = log_mask - log_mask.amax(dim=tuple(range(-ndim, 0)),
                                        keepdim=True)
    return log_mask.exp()
