"""Build a config's model and load a checkpoint into it: the one place the
tools do it (``tools/test.py`` loads through its Runner, with the same
mismatch error)."""
from typing import Tuple

from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint
from torch import nn


def build_model_from_config(config) -> nn.Module:
    """Build ``config``'s model (a path or a ``Config``) in its own scope
    (mmdet or mmpretrain), with a top-level ``data_preprocessor`` as the
    Runner and mmpretrain's ``init_model`` use it."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(cfg.model)


def checkpoint_mismatch(checkpoint: str, config, err: Exception):
    """The error a tool raises when ``checkpoint`` does not fit ``config``."""
    return RuntimeError(f'checkpoint {checkpoint} does not match the model '
                        f'of {config}:\n{err}')


def init_model(config, checkpoint: str) -> Tuple[nn.Module, dict]:
    """``config``'s model on the CPU with ``checkpoint`` loaded strictly
    (mmdet's ``init_detector`` and mmpretrain's ``init_model`` load
    non-strictly: a wrong checkpoint would give a partly random model).

    Returns ``(model, checkpoint dict)``; the model is in eval mode.
    """
    model = build_model_from_config(config)
    try:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu',
                               strict=True)
    except RuntimeError as err:
        raise checkpoint_mismatch(checkpoint, config, err) from None
    model.eval()
    return model, ckpt
