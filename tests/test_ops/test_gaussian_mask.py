import math
import re

import pytest
import torch

from mmgmconv import SIGMA_MIN, gaussian_mask


def reference_mask(kh, kw, s1, s2):
    """Eq. 5-6 written out: 2D Gaussian over the grid, divided by its max."""
    vals = [[
        math.exp(-0.5 * ((x - (kw - 1) / 2)**2 / s1**2 +
                         (y - (kh - 1) / 2)**2 / s2**2)) / (
                             2 * math.pi * s1 * s2)
        for x in range(kw)
    ] for y in range(kh)]
    peak = max(max(row) for row in vals)
    return torch.tensor(vals, dtype=torch.float64) / peak


@pytest.mark.parametrize('ks', [1, 3, 4, 5, 7, 11, (3, 5), (4, 7)])
@pytest.mark.parametrize('s1,s2', [(5.0, None), (0.5, None), (1.0, 3.0),
                                   (2.5, 0.7)])
def test_mask_matches_equations(ks, s1, s2):
    kh, kw = (ks, ks) if isinstance(ks, int) else ks
    mask = gaussian_mask(ks, s1, s2)
    assert mask.shape == (kh, kw)
    expected = reference_mask(kh, kw, s1, s1 if s2 is None else s2)
    torch.testing.assert_close(mask.double(), expected, atol=1e-6, rtol=1e-5)
    assert mask.max().item() == 1.0


def test_circular_is_elliptical_with_equal_sigmas_and_1d_product():
    m = gaussian_mask(5, 2.0)
    torch.testing.assert_close(m, gaussian_mask(5, 2.0, 2.0))
    # eq. 3-4: the circular mask is the outer product of two 1D masks.
    g = gaussian_mask((1, 5), 2.0)[0]
    torch.testing.assert_close(m, g[:, None] * g[None, :])


def test_sigma1_acts_on_columns_sigma2_on_rows():
    m = gaussian_mask(5, 10.0, 0.5)  # wide along x, narrow along y
    assert m[2, 0] > 0.9 and m[0, 2] < 1e-3


def test_batched_sigmas():
    s1 = torch.tensor([0.5, 2.0, 8.0])
    s2 = torch.tensor([1.0, 2.0, 3.0])
    m = gaussian_mask((3, 5), s1, s2)
    assert m.shape == (3, 3, 5)
    for i in range(3):
        torch.testing.assert_close(m[i], gaussian_mask((3, 5), s1[i], s2[i]))
    assert gaussian_mask(3, torch.tensor(2.0)).shape == (3, 3)


def test_tiny_zero_and_half_sigmas_stay_finite():
    for ks in (3, 4):
        for s in (0.0, 1e-12, SIGMA_MIN, -2.0):
            m = gaussian_mask(ks, torch.tensor(s))
            assert torch.isfinite(m).all() and m.max() == 1
        m = gaussian_mask(ks, torch.tensor(1e-4, dtype=torch.float16))
        assert m.dtype == torch.float32 and torch.isfinite(m).all()
    # sign is irrelevant: the mask depends on sigma**2
    torch.testing.assert_close(
        gaussian_mask(3, torch.tensor(-2.0)), gaussian_mask(3, 2.0))
    # even kernel with a tiny sigma: the four central taps stay at 1
    m = gaussian_mask(4, torch.tensor(1e-6))
    assert m[1:3, 1:3].eq(1).all() and m.sum() == 4


def test_gradcheck_float64():
    s1 = torch.tensor([0.8, 3.0], dtype=torch.float64, requires_grad=True)
    s2 = torch.tensor([1.5, 0.6], dtype=torch.float64, requires_grad=True)
    for ks in (3, 4, (3, 5)):
        assert torch.autograd.gradcheck(
            lambda a, b: gaussian_mask(ks, a, b), (s1, s2))


@pytest.mark.parametrize('bad', [0, -1, (3, 0), (3, ), 2.5, (3, 3, 3), True])
def test_bad_kernel_size(bad):
    with pytest.raises(ValueError, match='kernel_size'):
        gaussian_mask(bad, 1.0)


@pytest.mark.parametrize('bad', [0.0, -1.0, float('nan'), float('inf')])
def test_bad_float_sigma(bad):
    with pytest.raises(ValueError, match='sigma1 must be finite and > 0'):
        gaussian_mask(3, bad)
    with pytest.raises(ValueError, match='sigma2'):
        gaussian_mask(3, 1.0, bad)


def test_bad_sigma_shapes_and_types():
    with pytest.raises(ValueError, match=r'sigma2 must have the shape'):
        gaussian_mask(3, torch.ones(2), torch.ones(3))
    with pytest.raises(ValueError, match=r'shape \(\) or \(B,\)'):
        gaussian_mask(3, torch.ones(2, 2))
    with pytest.raises(TypeError, match='sigma1 must be a real number'):
        gaussian_mask(3, 'wide')


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_sigma_raises_naming_it(bad):
    """A NaN sigma gave an all-NaN mask (issue 19)."""
    with pytest.raises(ValueError, match=r'sigma1 must be finite.*' +
                       str(bad).replace('inf', r'inf\]?')):
        gaussian_mask(3, torch.tensor(bad))
    with pytest.raises(ValueError, match=r'sigma2 must be finite'):
        gaussian_mask(3, torch.tensor([1.0, 2.0]), torch.tensor([1.0, bad]))
    with pytest.raises(ValueError, match='sigma1 must be finite and > 0'):
        gaussian_mask(3, bad)


@pytest.mark.parametrize('value', [1e300, 1e-300])
def test_float_sigma_that_does_not_fit_float32(value):
    with pytest.raises(ValueError, match=re.escape(
            f'sigma1={value!r} does not fit float32')):
        gaussian_mask(3, value)


def test_non_finite_check_is_skipped_while_tracing():
    """No values to check in a trace (and no device sync in a graph)."""
    traced = torch.jit.trace(lambda s: gaussian_mask(3, s),
                             torch.tensor(2.0))
    torch.testing.assert_close(traced(torch.tensor(3.0)),
                               gaussian_mask(3, 3.0))
