"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints safely.

torch >= 2.6 loads checkpoints with ``weights_only=True``: only allow-listed
globals may be built. An mmengine training checkpoint also holds the
message hub's ``HistoryBuffer`` objects, numpy arrays and scalars, and
references to ``HistoryBuffer.min`` (and ``max``, ``mean``, ``current``),
pickled as ``builtins.getattr(HistoryBuffer, 'min')``. We allow those types
and, instead of ``getattr`` itself (which would let a checkpoint reach any
attribute, e.g. ``os.system``), a stand-in that only resolves those four
methods. ``weights_only`` stays on: anything else in a checkpoint is still
refused by torch.

torch < 2.4 has no ``add_safe_globals``: there nothing can be allow-listed,
``weights_only=True`` refuses mmengine training checkpoints, and torch < 2.6
loads with ``weights_only=False`` by default, which runs whatever code a
checkpoint carries (see the README, "Checkpoints and safety").
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


def history_buffer_getattr(obj, name):
    """``getattr`` limited to ``HistoryBuffer``'s statistics methods."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
        f'only HistoryBuffer.{{{",".join(_HISTORY_BUFFER_STATISTICS)}}} '
        'are allowed')


def _numpy_globals():
    # numpy 2 name; numpy 1 has only np.core (checkpoints name either)
    multiarray = (np._core if hasattr(np, '_core') else np.core).multiarray
    dtype_classes = [type(np.dtype(c)) for c in '?bhilqBHILQefdgFDG']
    return [np.ndarray, np.dtype, *dtype_classes] + [
        (fn, f'{module}.multiarray.{fn.__name__}')
        for fn in (multiarray._reconstruct, multiarray.scalar)
        for module in ('numpy._core', 'numpy.core')
    ]


def allow_mmengine_checkpoint_types() -> bool:
    """Allow-list what mmengine checkpoints contain for ``weights_only``.

    Returns:
        ``False`` on torch < 2.4, which cannot allow-list anything (nothing
        is changed), ``True`` otherwise.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False
    torch.serialization.add_safe_globals([
        HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals()
    ])
    return True
