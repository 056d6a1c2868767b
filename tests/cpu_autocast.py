"""The autocast dtypes the GMConv layer tests run on the CPU, each skipped
where this torch has no CPU autocast to it."""
import warnings

import pytest
import torch


def cpu_autocast_supports(dtype):
    # torch 2.1 refuses float16 on CPU: it warns, then raises
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            with torch.autocast('cpu', dtype=dtype):
                out = torch.mm(torch.ones(1, 1), torch.ones(1, 1))
                return out.dtype == dtype
        except RuntimeError:
            return False


#: float16 and bfloat16, for ``pytest.mark.parametrize('dtype', ...)``
AUTOCAST_DTYPES = [
    pytest.param(dtype, marks=pytest.mark.skipif(
        not cpu_autocast_supports(dtype),
        reason=f'this torch has no CPU autocast to {dtype}'))
    for dtype in (torch.float16, torch.bfloat16)
]
