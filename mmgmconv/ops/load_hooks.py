"""Run a function before a module loads its state dict (one place for the
torch versions)."""
from typing import Callable

from torch import nn


def register_load_pre_hook(module: nn.Module, hook: Callable):
    """Call ``hook(module, state_dict, prefix, local_metadata, strict,
    missing_keys, unexpected_keys, error_msgs)`` before ``module`` loads
    (``state_dict`` is the loader's copy); returns the hook's handle.

    torch >= 2.5 has ``Module.register_load_state_dict_pre_hook``. torch 2.1
    (the lower tested stack) has only ``_register_load_state_dict_pre_hook``
    with ``with_module=True``, the same call: the one private torch name
    mmgmconv uses, and only where the public one does not exist.
    """
    public = getattr(module, 'register_load_state_dict_pre_hook', None)
    if public is not None:
        return public(hook)
    return module._register_load_state_dict_pre_hook(hook, with_module=True)
