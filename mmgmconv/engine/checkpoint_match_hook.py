"""Say how well the checkpoint a run starts from fits its model.

mmengine loads ``load_from`` non-strictly and ``resume`` non-strictly too:
a classifier's checkpoint given to a detector leaves its neck and heads at
their random init (and trains with exit status 0), and a checkpoint of
another model given to ``resume`` fails later, deep inside the optimizer's
``load_state_dict``. ``tools/train.py`` registers this hook on every run.
"""
import re
from collections import OrderedDict
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import load_state_dict

from ..apis import checkpoint_mismatch

#: Below this share of the model's values (parameters and buffers, counted
#: in elements) loaded from ``load_from``, the run would start from a
#: mostly random model: an error. Our choice: fine-tuning a detector with
#: another class count (its classification layers are replaced) loads far
#: more than half; a classifier's checkpoint in a detector, or a checkpoint
#: of another architecture, loads less.
MIN_LOADED_SHARE = 0.5

#: How many names of each kind of mismatch the messages list.
NAMES_SHOWN = 5

#: mmengine's ``Runner.load_checkpoint`` default ``revise_keys``: a
#: ``module.`` prefix (a checkpoint saved from a wrapped model) is dropped.
REVISE_KEYS = [(r'^module.', '')]


def checkpoint_state_dict(checkpoint: dict) -> OrderedDict:
    """The model state of a checkpoint dict, with its keys revised as
    mmengine's ``Runner.load_checkpoint`` revises them."""
    state = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state, '_metadata', OrderedDict())
    for pattern, replacement in REVISE_KEYS:
        state = OrderedDict(
            (re.sub(pattern, replacement, k), v) for k, v in state.items())
    state._metadata = metadata
    return state


def _names(keys: List[str]) -> str:
    shown = ', '.join(keys[:NAMES_SHOWN])
    more = len(keys) - NAMES_SHOWN
    return shown + (f' (+{more} more)' if more > 0 else '')


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Check the checkpoint a run loads against the model.

    - ``resume=True``: the checkpoint must fit the model strictly (every
      key, every shape), checked before mmengine restores the optimizer;
      otherwise a ``RuntimeError`` in tools/test.py's words
      (:func:`mmgmconv.apis.checkpoint_mismatch`) listing the mismatched
      keys.
    - ``resume=False`` (``load_from``): after the load, the log says how
      many of the model's tensors the checkpoint filled. When some were
      not (missing from it, or of another shape there) or it holds keys
      the model has not, a warning gives the counts (loaded / missing /
      shape-mismatched / unexpected) and the first names of each. When
      less than ``MIN_LOADED_SHARE`` of the model's values were loaded,
      the run stops with a ``ValueError`` before its first iteration
      (see ``MIN_LOADED_SHARE`` for why half).

    The counts come from the load itself (a post hook on the model's
    ``load_state_dict``), so keys the model's own load hooks consume (a
    GMConv sigma folded into a plain conv) are not counted as unexpected.
    BatchNorm's ``num_batches_tracked`` counters are left out of the
    counts, as mmengine leaves them out of its missing keys.

    Args:
        checkpoint: the checkpoint's name for the messages; None: the one
            mmengine finds in the work dir.
        config: the config's name for the messages.
        resume: whether the run resumes from the checkpoint.
    """

    priority = 'VERY_LOW'  # after hooks that edit the loaded checkpoint

    def __init__(self, checkpoint: Optional[str] = None, config: str = '',
                 resume: bool = False):
        self.checkpoint = checkpoint or 'the latest checkpoint of the work dir'
        self.config = config
        self.resume = resume
        self._shape_mismatched: List[str] = []
        self._load = None  # (missing, unexpected) of the model's load
        self._handle = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not isinstance(checkpoint, dict):
            return  # not a checkpoint dict: mmengine's loader says so
        model = (runner.model.module if is_model_wrapper(runner.model)
                 else runner.model)
        state = checkpoint_state_dict(checkpoint)
        if self.resume:
            try:
                load_state_dict(model, state, strict=True,
                                logger=runner.logger)
            except RuntimeError as err:
                raise checkpoint_mismatch(self.checkpoint, self.config,
                                          err) from None
            return
        own = model.state_dict()
        self._shape_mismatched = [
            k for k, v in state.items() if k in own and hasattr(v, 'shape')
            and tuple(v.shape) != tuple(own[k].shape)
        ]
        if self._handle is None:
            self._handle = model.register_load_state_dict_post_hook(
                self._record_load)

    def _record_load(self, module, incompatible_keys) -> None:
        # (removed in before_train: not while the loader iterates the hooks)
        self._load = (list(incompatible_keys.missing_keys),
                      list(incompatible_keys.unexpected_keys))

    def before_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if self._load is None:
            return  # nothing loaded through load_from
        missing, unexpected = self._load
        self._load = None
        model = (runner.model.module if is_model_wrapper(runner.model)
                 else runner.model)
        own = {k: v for k, v in model.state_dict().items()
               if not k.endswith('num_batches_tracked')}
        missing = [k for k in missing if k in own]
        mismatched = [k for k in self._shape_mismatched if k in own]
        unfilled = set(missing) | set(mismatched)
        loaded = [k for k in own if k not in unfilled]
        total = sum(v.numel() for v in own.values())
        share = (sum(own[k].numel() for k in loaded) / total
                 if total else 1.0)
        counts = (f'{len(loaded)} of the model\'s {len(own)} tensors loaded '
                  f'({share:.1%} of its values), {len(missing)} missing from '
                  f'the checkpoint, {len(mismatched)} of another shape there '
                  f'(these keep their init), {len(unexpected)} of its keys '
                  'not in the model')
        if not (missing or mismatched or unexpected):
            runner.logger.info(f'load_from {self.checkpoint}: all '
                               f'{len(own)} tensors of the model loaded')
            return
        names = '; '.join(f'{kind}: {_names(keys)}' for kind, keys in (
            ('missing', missing), ('shape mismatch', mismatched),
            ('unexpected', unexpected)) if keys)
        if share < MIN_LOADED_SHARE:
            raise ValueError(
                f'load_from {self.checkpoint} does not fit the model of '
                f'{self.config}: {counts} ({names}). Training would start '
                f'from a mostly random model (under '
                f'{MIN_LOADED_SHARE:.0%} of its values loaded). load_from '
                'starts the whole model from a checkpoint of the same '
                'model; to start one part from a checkpoint of another kind '
                '(e.g. a classifier\'s backbone in a detector) give it to '
                'that part\'s init_cfg instead: --cfg-options '
                'load_from=None model.backbone.init_cfg.type=Pretrained '
                'model.backbone.init_cfg.checkpoint=PATH '
                'model.backbone.init_cfg.prefix=backbone.')
        runner.logger.warning(
            f'load_from {self.checkpoint} does not match the model exactly: '
            f'{counts} ({names})')
