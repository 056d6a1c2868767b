"""Validate a conv config before a backbone builds from it."""
import inspect
from typing import Optional

from mmengine.registry import MODELS


def check_conv_cfg(cfg: Optional[dict], name: str) -> None:
    """Raise a clear error unless ``cfg`` is ``None`` or a buildable conv."""
    if cfg is None:
        return
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'{name} must be None or a dict with a "type" key, '
                        f'got {cfg!r}')
    conv_type = cfg['type']
    if inspect.isclass(conv_type):
        return
    with MODELS.switch_scope_and_registry(None) as registry:
        found = registry.get(conv_type)
    if found is None:
        raise ValueError(
            f'{name}: unknown conv type {conv_type!r}. GMConv types are '
            f"'SGMConv' and 'DGMConv' (registered by `import mmgmconv` or "
            f"custom_imports=dict(imports=['mmgmconv'])); plain ones include "
            f"'Conv2d', 'ConvWS', 'DCN'.")
