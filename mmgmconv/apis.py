"""Build a config's model and load a checkpoint into it: the one place the
tools do it (``tools/test.py`` loads through its Runner, with the same
mismatch error and class-count check).

Class names: a checkpoint's ``meta.dataset_meta`` where it has them, else
the config's test dataset (its dataset class's ``METAINFO`` updated by the
config's ``metainfo``), never a toolbox default (mmdet's inferencer falls
back to COCO's 80 classes, mmseg's to Cityscapes'). A model whose heads
predict another number of classes than the names count is an error.
"""
import copy
from typing import Dict, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import load_state_dict
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


def config_name(config) -> str:
    """How messages name ``config``: its file (a path, or a ``Config``
    read from one)."""
    return config.filename if isinstance(config, Config) else str(config)


def checkpoint_mismatch(checkpoint: str, config, err: Exception):
    """The error a tool raises when ``checkpoint`` does not fit ``config``."""
    return RuntimeError(f'checkpoint {checkpoint} does not match the model '
                        f'of {config_name(config)}:\n{err}')


def checkpoint_dataset_meta(checkpoint: dict) -> Optional[dict]:
    """The ``dataset_meta`` saved in a checkpoint (keys lower-cased, as
    mmdet reads them; ``meta.CLASSES`` of mmdet 2 / mmcls 0.x checkpoints
    too), or ``None`` where it names no classes."""
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict):
        return None
    if isinstance(meta.get('dataset_meta'), dict):
        dataset_meta = {k.lower(): v for k, v in meta['dataset_meta'].items()}
    elif meta.get('CLASSES') is not None:
        dataset_meta = dict(classes=meta['CLASSES'])
    else:
        return None
    return dataset_meta if dataset_meta.get('classes') else None


def config_dataset_meta(config) -> dict:
    """The metainfo (classes, palette) of ``config``'s test dataset: its
    dataset class's ``METAINFO`` updated by the config's ``metainfo``, as
    the dataset itself builds it (``lazy_init``: no annotation or image is
    read, so the data need not be there). ``{}`` for a config without a
    ``test_dataloader``."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if not cfg.get('test_dataloader'):
        return {}
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True
    return dict(DATASETS.build(dataset_cfg).metainfo)


def head_class_counts(model: nn.Module) -> Dict[str, int]:
    """``{submodule name: num_classes}`` of every submodule of ``model``
    with a positive int ``num_classes`` (heads, their losses, a
    classifier's data preprocessor), but mmdet's region proposal heads
    (``*RPNHead``), which are class-agnostic (one "object" class whatever
    the dataset)."""
    return {
        name: module.num_classes
        for name, module in model.named_modules()
        if isinstance(getattr(module, 'num_classes', None), int)
        and not isinstance(module.num_classes, bool)
        and module.num_classes > 0
        and not type(module).__name__.endswith('RPNHead')
    }


def check_class_count(model: nn.Module, classes, origin: str, config):
    """Raise ``ValueError`` naming both counts when a head of ``model``
    predicts another number of classes than ``classes`` (taken from
    ``origin``) names: its labels would name the wrong classes, or none."""
    wrong = {name: count for name, count in head_class_counts(model).items()
             if count != len(classes)}
    if wrong:
        names = ', '.join(map(str, classes[:5])) + (
            ', ...' if len(classes) > 5 else '')
        heads = ', '.join(f'{name or "model"} num_classes={count}'
                          for name, count in wrong.items())
        raise ValueError(
            f'{origin} names {len(classes)} classes ({names}), but the model '
            f'of {config_name(config)} predicts another number: {heads}. '
            'Its labels would name the wrong classes. Use the config the '
            'checkpoint was trained with (or set num_classes to the class '
            'count)')


def resolve_dataset_meta(checkpoint: dict, source: str, model: nn.Module,
                         config) -> dict:
    """The dataset meta to label ``model``'s predictions with: the
    checkpoint's (``source`` names it) where it names classes, else the
    config's test dataset's; checked against the model's class count
    (:func:`check_class_count`). ``{}`` where neither names classes."""
    meta = checkpoint_dataset_meta(checkpoint)
    if meta is not None:
        origin = f'the meta of checkpoint {source}'
    else:
        meta = config_dataset_meta(config)
        origin = f'the test dataset of {config_name(config)}'
    if meta.get('classes'):
        check_class_count(model, meta['classes'], origin, config)
    return meta


def load_weights(model: nn.Module, checkpoint: dict, source: str,
                 config) -> dict:
    """Load a checkpoint dict (read from ``source``) into ``config``'s
    ``model`` strictly, after checking its class count; set and return
    ``model.dataset_meta`` (:func:`resolve_dataset_meta`).

    A ``module.`` prefix (a checkpoint saved from a distributed wrapper) is
    stripped, as mmengine does. A state dict that does not fit is the
    error of :func:`checkpoint_mismatch`.
    """
    # first: a head of another class count is named as such, not only as
    # a list of shape mismatches
    dataset_meta = resolve_dataset_meta(checkpoint, source, model, config)
    state_dict = checkpoint.get('state_dict', checkpoint)
    if any(key.startswith('module.') for key in state_dict):
        state_dict = {key.removeprefix('module.'): value
                      for key, value in state_dict.items()}
    try:
        load_state_dict(model, state_dict, strict=True)
    except RuntimeError as err:
        raise checkpoint_mismatch(source, config, err) from None
    model.dataset_meta = dataset_meta
    return dataset_meta


def init_model(config, checkpoint: str) -> Tuple[nn.Module, dict]:
    """``config``'s model on the CPU with ``checkpoint`` loaded strictly
    (mmdet's ``init_detector`` and mmpretrain's ``init_model`` load
    non-strictly: a wrong checkpoint would give a partly random model),
    labelled by :func:`load_weights` (``model.dataset_meta``).

    Returns ``(model, checkpoint dict)``; the model is in eval mode.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    model = build_model_from_config(cfg)
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    load_weights(model, ckpt, checkpoint, config)
    model.eval()
    return model, ckpt
