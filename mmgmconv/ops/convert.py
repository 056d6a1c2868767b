"""Turn the plain convs of any PyTorch model into GMConv layers."""
import inspect
from collections import defaultdict
from fnmatch import fnmatchcase
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import nn

from .conv_subclass import construction_only_reason
from .dgm_conv import DGMConv
from .dgm_conv_nd import DGMConv1d, DGMConv3d
from .sgm_conv import SGMConv, is_folded, mask_is_all_ones
from .sgm_conv_nd import SGMConv1d, SGMConv3d

#: What ``kind`` may name (the 2D layer of each kind).
GMCONV_KINDS = {'SGMConv': SGMConv, 'DGMConv': DGMConv}

#: The layer each kind becomes for a conv of 1, 2 or 3 spatial dimensions.
GMCONV_LAYERS = {
    'SGMConv': {
        1: SGMConv1d,
        2: SGMConv,
        3: SGMConv3d
    },
    'DGMConv': {
        1: DGMConv1d,
        2: DGMConv,
        3: DGMConv3d
    },
}

#: The plain convs ``convert_to_gmconv`` converts, by spatial dimensions.
PLAIN_CONVS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}

_GMCONV_TYPES = tuple(cls for layers in GMCONV_LAYERS.values()
                      for cls in layers.values())
_TRANSPOSED_CONVS = (nn.ConvTranspose1d, nn.ConvTranspose2d,
                     nn.ConvTranspose3d)

Patterns = Union[str, Sequence[str]]

#: What a GMConv layer takes over from the conv it replaces, by name.
_CONV2D_ARGS = ('in_channels', 'out_channels', 'kernel_size', 'stride',
                'padding', 'dilation', 'groups', 'padding_mode')


def convert_to_gmconv(model: nn.Module,
                      kind: str = 'SGMConv',
                      include: Patterns = '*',
                      exclude: Patterns = (),
                      stem: Patterns = (),
                      predicate: Optional[Callable[[str, nn.Module],
                                                   bool]] = None,
                      dims: Union[int, Sequence[int]] = (1, 2, 3),
                      **gmconv_kwargs) -> nn.Module:
    """Replace the ``nn.Conv1d``, ``nn.Conv2d`` and ``nn.Conv3d`` layers
    of ``model`` by GMConv layers.

    In the manner of ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``:
    works in place and returns ``model`` (or the new layer if ``model`` is
    itself a conv). It is the inverse of :func:`fuse_gmconv`: each chosen
    conv ``W`` becomes a GMConv layer computing ``conv(x, W * M(sigma))``
    (paper eq. 2) whose ``weight`` and ``bias`` *are* the conv's parameter
    objects (so device, dtype, ``requires_grad`` and any optimizer's hold on
    them carry over, and state dicts keep their keys: a checkpoint of the
    plain model loads with only the GMConv parameters missing). Stride,
    padding (``'same'`` too), dilation, groups (depthwise too), padding mode
    and train / eval mode carry over. The new parameters (``sigma``,
    ``sigma_predictor.*``) get the conv's device, dtype and the
    ``requires_grad`` of its weight, so a frozen conv stays frozen.
    Create the optimizer after converting, or it misses them.

    Each conv becomes the GMConv layer of its dimension:
    ``nn.Conv2d`` -> :class:`SGMConv` / :class:`DGMConv`, ``nn.Conv1d`` ->
    :class:`~mmgmconv.ops.SGMConv1d` / :class:`~mmgmconv.ops.DGMConv1d`,
    ``nn.Conv3d`` -> :class:`~mmgmconv.ops.SGMConv3d` /
    :class:`~mmgmconv.ops.DGMConv3d` (:data:`GMCONV_LAYERS`).

    Which layers: every conv of the dimensions in ``dims`` whose module name
    (as in
    ``model.named_modules()``) matches one of ``include`` and none of
    ``exclude`` (shell-style patterns as timm uses, matched with
    ``fnmatch.fnmatchcase``; ``*`` also spans dots, so ``'layer1.*'`` is all
    of ``layer1``) and for which ``predicate(name, conv)`` is true. Among
    these, layers that already are GMConv and convs whose mask is always
    all ones are left as they are: in a 1x1, 1x2, 2x1 or 2x2 kernel every
    tap is equally far from the centre, so the max-normalised mask (eq. 4)
    is 1 everywhere whatever sigma is, and a sigma there would never get a
    gradient (our choice, the rule :class:`SGMConv` follows too; timm's
    ConvNeXt downsamples with 2x2 convs; in 1D and 3D: a kernel of at most
    2 along every axis).
    Converting twice changes nothing. Layers matching ``stem`` become
    :class:`DGMConv`, the others ``kind``: the paper puts D-GMConv in the
    stem and S-GMConv in the body (Sec. III).

    What is left is reported in one log line (mmengine's ``print_log`` to
    the current logger, level INFO): each conv that stays as it is, with
    why (a kernel whose mask is all ones, not chosen by ``include`` /
    ``exclude`` / ``predicate``, its dimension not in ``dims``, a
    transposed conv, which has no GMConv form), so that nothing is skipped
    silently.

    A chosen conv must be a plain ``nn.Conv2d`` (``nn.Conv1d``,
    ``nn.Conv3d``), or of a class that only constructs one (torchvision's
    ``Conv3DSimple``: it defines ``__init__`` and names the conv has not,
    :func:`~mmgmconv.ops.conv_subclass.construction_only_reason`), whose
    class :func:`fuse_gmconv` restores: a subclass that changes
    what the conv computes (timm's ``Conv2dSame`` / ``StdConv2d``, mmcv's
    ``Conv2dAdaptivePadding``, a parametrised weight) or a conv with hooks,
    extra parameters or buffers (old-style ``weight_norm``) would lose that
    behaviour, so it is an error naming the layers; leave them out with
    ``exclude`` or ``predicate=lambda name, conv: type(conv) is nn.Conv2d``
    (our choice: an error rather than skipping them silently). Modules that
    are not ``nn.Conv2d`` at all (timm's ``CondConv2d``, mmcv's deformable
    convs, transposed convs) are never touched.

    Args:
        model: Any ``nn.Module``.
        kind: ``'SGMConv'`` (default) or ``'DGMConv'``: what the chosen
            convs become.
        include: Pattern(s) of module names to convert. Default all.
        exclude: Pattern(s) of module names to leave as they are.
        stem: Pattern(s) of module names that become ``DGMConv`` whatever
            ``kind`` is (e.g. ``'conv1'`` in a torchvision ResNet).
        predicate: ``(name, conv) -> bool``; a conv is chosen only if true.
        dims: Which convs to convert by spatial dimensions: 1 for
            ``nn.Conv1d``, 2 for ``nn.Conv2d``, 3 for ``nn.Conv3d``; one
            of them or a tuple. Default all three.
        **gmconv_kwargs: Passed to the new layers: ``sigma_init`` to both
            kinds, ``DGMConv``'s own arguments (``reduction``,
            ``pred_pattern``, ``sigma_range``) to the D-GMConv layers.

    ``model`` must be a Python module on a real device: a TorchScript
    module (``torch.jit.script`` / ``trace``) or convs on the ``meta``
    device (or a default device of ``meta``) are errors saying what to do
    instead, so that no sigma is left without a value.

    Every pattern must match at least one conv (``include`` one larger
    than 2x2, ``stem`` a chosen one larger than 2x2) and every keyword
    argument must reach at least one new layer; otherwise, and for an
    unknown ``kind`` or argument, it raises before changing anything,
    naming the value and what is allowed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got {type(model)!r}')
    if isinstance(model, torch.jit.ScriptModule):
        raise TypeError(
            f'model is a TorchScript module ({type(model).__name__}, from '
            'torch.jit.script or torch.jit.trace): its convs are compiled '
            'code, not nn.Conv layers that can be replaced. Convert the '
            'Python model first, then script or trace the result '
            '(convert_to_gmconv(model); torch.jit.script(model))')
    if not isinstance(kind, str) or kind not in GMCONV_KINDS:
        raise ValueError(f'kind must be one of {sorted(GMCONV_KINDS)}, got '
                         f'{kind!r}')
    if predicate is not None and not callable(predicate):
        raise TypeError(f'predicate must be a callable (name, conv) -> bool '
                        f'or None, got {predicate!r}')
    dims = _as_dims(dims)
    include = _as_patterns(include, 'include', allow_empty=False)
    exclude = _as_patterns(exclude, 'exclude')
    stem = _as_patterns(stem, 'stem')

    all_convs = _named_convs(model, (1, 2, 3))
    convs = [(names, conv) for names, conv in all_convs
             if _dims_of(conv) in dims]
    if not convs:
        others = sorted({type(conv).__name__ for _, conv in all_convs})
        raise ValueError(
            f'{type(model).__name__} has no ' +
            ', '.join(f'nn.{PLAIN_CONVS[d].__name__}' for d in dims) +
            ' layer to convert' +
            (f'; it has {others} layers: select them with dims=...'
             if others else ''))
    _check_patterns_match(convs, include, exclude)
    _check_not_meta(convs)

    plan = []  # (names, conv, class of its new layer)
    chosen = _chosen_masked_convs(convs, include, exclude, predicate, stem)
    for names, conv in chosen:
        if not isinstance(conv, _GMCONV_TYPES):
            is_stem = any(_matches(name, stem) for name in names)
            plan.append((names, conv, GMCONV_LAYERS[
                'DGMConv' if is_stem else kind][_dims_of(conv)]))
    not_plain = [
        f'{names[0]} ({_not_plain_reason(conv)})' for names, conv, _ in plan
        if _not_plain_reason(conv)
    ]
    if not_plain:
        raise TypeError(
            'only plain nn.Conv1d / nn.Conv2d / nn.Conv3d layers can become '
            'GMConv layers; leave these out with exclude=... or '
            'predicate=lambda name, conv: type(conv) is nn.Conv2d: ' +
            '; '.join(not_plain))
    kwargs_of = _split_kwargs(gmconv_kwargs,
                              {_kind_of(cls)
                               for _, _, cls in plan})

    new_layers = []
    for names, conv, cls in plan:
        try:
            new_layers.append(
                _gmconv_like(conv, cls, kwargs_of[_kind_of(cls)]))
        except (TypeError, ValueError) as error:
            raise type(error)(f'converting {names[0]!r} to {cls.__name__}: '
                              f'{error}') from error
    print_log(
        _report(model, plan, {id(conv)
                              for _, conv in chosen}, dims),
        logger='current')
    for (names, _, _), layer in zip(plan, new_layers):
        for name in names:
            if name == '':
                return layer
            parent, _, attr = name.rpartition('.')
            setattr(model.get_submodule(parent), attr, layer)
    return model


def _report(model: nn.Module, plan, chosen_ids: set,
            dims: Tuple[int, ...]) -> str:
    """One line: how many convs become which GMConv layer, and each conv
    of ``model`` that stays as it is, grouped by why."""
    made = defaultdict(int)
    for names, _, cls in plan:
        made[cls.__name__] += 1
    left = defaultdict(list)
    for names, conv in _named_convs(model, (1, 2, 3), _TRANSPOSED_CONVS):
        if isinstance(conv, _TRANSPOSED_CONVS):
            why = f'{type(conv).__name__} (transposed: no GMConv form)'
        elif isinstance(conv, _GMCONV_TYPES):
            continue  # converted before
        elif _dims_of(conv) not in dims:
            why = f'{type(conv).__name__} (not in dims={dims})'
        elif not _has_mask(conv):
            why = 'kernel of at most 2 along every axis (mask all ones)'
        elif id(conv) not in chosen_ids:
            why = 'not chosen by include / exclude / predicate'
        else:
            continue  # converted now
        left[why].append(names[0])
    text = 'convert_to_gmconv: converted ' + (', '.join(
        f'{count} to {name}'
        for name, count in sorted(made.items())) or 'no conv')
    subclasses = sorted({
        type(conv).__qualname__
        for _, conv, _ in plan if type(conv) not in PLAIN_CONVS.values()
    })
    if subclasses:
        text += (f' (of them convs of the construction-only classes '
                 f'{subclasses}, which fuse_gmconv restores)')
    if not left:
        return text + '; left no conv'
    return text + f'; left {sum(map(len, left.values()))} as they are: ' + \
        '; '.join(f'{why}: {", ".join(names)}' for why, names in left.items())


def _as_dims(dims: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    """``dims`` (one or several of 1, 2, 3) as a tuple, else raise."""
    given = dims
    if isinstance(dims, int) and not isinstance(dims, bool):
        dims = (dims, )
    if (not isinstance(dims, (tuple, list)) or not dims or not all(
            isinstance(d, int) and not isinstance(d, bool) and d in
            PLAIN_CONVS for d in dims) or len(set(dims)) != len(dims)):
        raise ValueError(f'dims must be one or a tuple of distinct values '
                         f'from (1, 2, 3) (nn.Conv1d, nn.Conv2d, '
                         f'nn.Conv3d), got {given!r}')
    return tuple(dims)


def _dims_of(conv: nn.Module) -> int:
    """The spatial dimensions of a conv: 1, 2 or 3."""
    return len(conv.kernel_size)


def _kind_of(cls: type) -> str:
    """``'SGMConv'`` or ``'DGMConv'``: the kind a GMConv class is of."""
    return next(kind for kind, layers in GMCONV_LAYERS.items()
                if cls in layers.values())


def _has_mask(conv: nn.Module) -> bool:
    """Whether a GMConv mask of ``conv``'s kernel can differ from all ones
    (:func:`~mmgmconv.ops.sgm_conv.mask_is_all_ones`)."""
    return not mask_is_all_ones(conv.kernel_size)


def _as_patterns(patterns: Patterns,
                 name: str,
                 allow_empty: bool = True) -> List[str]:
    if isinstance(patterns, str):
        patterns = [patterns]
    if (not isinstance(patterns, (list, tuple))
            or not all(isinstance(p, str) for p in patterns)):
        raise TypeError(f'{name} must be a pattern string or a list of them, '
                        f'got {patterns!r}')
    if not patterns and not allow_empty:
        raise ValueError(f'{name} must hold at least one pattern, got '
                         f'{patterns!r}')
    return list(patterns)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _named_convs(model: nn.Module,
                 dims: Sequence[int],
                 also: Tuple[type, ...] = ()) -> List[Tuple[List[str],
                                                            nn.Module]]:
    """Each ``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.Conv3d`` of ``model``
    whose dimension is in ``dims`` (and each module of a type in
    ``also``) once, with all the names it has."""
    types = tuple(PLAIN_CONVS[d] for d in dims) + also
    by_id: Dict[int, Tuple[List[str], nn.Module]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        if isinstance(module, types):
            by_id.setdefault(id(module), ([], module))[0].append(name)
    return list(by_id.values())


def _chosen_masked_convs(convs, include: List[str], exclude: List[str],
                         predicate, stem: List[str]):
    """The convs of ``convs`` that are chosen and have a mask."""
    chosen_masked = []
    for names, conv in convs:
        chosen = {
            _matches(name, include) and not _matches(name, exclude)
            and (predicate is None or bool(predicate(name, conv)))
            for name in names
        }
        if len(chosen) > 1:
            raise ValueError(f'the conv shared by modules {names} is chosen '
                             f'under some of its names and not under others; '
                             f'choose all or none of them')
        if chosen.pop() and _has_mask(conv):
            chosen_masked.append((names, conv))
    for pattern in stem:
        if not any(
                fnmatchcase(name, pattern) for names, _ in chosen_masked
                for name in names):
            raise ValueError(f'stem pattern {pattern!r} matches no chosen '
                             f'conv with a kernel larger than 2x2 (check '
                             f'include, exclude, predicate and dims)')
    return chosen_masked


def _check_patterns_match(convs, include: List[str],
                          exclude: List[str]) -> None:
    """Raise for a pattern matching no conv (``include``: none masked)."""
    names = [name for names, _ in convs for name in names]
    masked = [
        name for names, conv in convs if _has_mask(conv) for name in names
    ]
    for arg, patterns, pool in (('include', include, masked),
                                ('exclude', exclude, names)):
        for pattern in patterns:
            if not any(fnmatchcase(name, pattern) for name in pool):
                what = 'conv' if arg == 'exclude' else \
                    'conv with a kernel larger than 2x2'
                raise ValueError(
                    f'{arg} pattern {pattern!r} matches no {what}; such '
                    f'convs are named like {pool[:5]}')


def _check_not_meta(convs) -> None:
    """Raise ``ValueError`` if a conv's weight or the default device is
    ``meta``.

    A meta tensor has a shape and no values: the new layers' sigmas would
    have none either, and after ``model.to_empty(...)`` they would hold
    whatever was in memory (a checkpoint of the plain model does not set
    them). Refusing is our choice: the layers' own initialisation
    (``sigma_init``) needs real memory to write to.
    """
    meta = [names[0] for names, conv in convs if conv.weight.is_meta]
    if meta:
        raise ValueError(
            f'convs {meta} are on the meta device (a shape without values): '
            'their new sigmas would have no values, and after to_empty() '
            'hold whatever was in memory. Materialise the model first '
            '(model.to_empty(device=...) and load its weights, or build it '
            'on a real device), then convert')
    if torch.empty(()).is_meta:
        raise ValueError(
            'the default device is meta (convert_to_gmconv called inside '
            '`with torch.device("meta")`): the new sigmas would have no '
            'values. Call convert_to_gmconv outside that block')


def _not_plain_reason(conv: nn.Module) -> Optional[str]:
    """Why ``conv`` is not a plain ``nn.Conv1d`` / ``nn.Conv2d`` /
    ``nn.Conv3d`` (or a class that only constructs one), or None if it
    is."""
    plain = PLAIN_CONVS[_dims_of(conv)]
    if type(conv) is not plain:
        why = construction_only_reason(conv, plain)
        if why:
            return f'{type(conv).__module__}.{type(conv).__qualname__}: ' \
                f'{why}'
    if is_folded(conv):
        return ('a folded S-GMConv (fuse_gmconv): its weight already holds '
                'W * M(sigma), a new mask would be a second one')
    if (conv._forward_hooks or conv._forward_pre_hooks or conv._backward_hooks
            or conv._backward_pre_hooks):
        return 'it has hooks'
    extra = ({n for n, _ in conv.named_parameters(recurse=False)}
             - {'weight', 'bias'}) | {
                 n for n, _ in conv.named_buffers(recurse=False)}
    if extra:
        return f'it has parameters or buffers besides weight and bias: ' \
            f'{sorted(extra)}'
    return None


def _keyword_args(cls: type) -> List[str]:
    """The keyword-only arguments ``cls`` takes beyond its conv's."""
    return [
        name for name, p in inspect.signature(cls).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    ]


def _split_kwargs(kwargs: dict, used: set) -> Dict[str, dict]:
    """The keyword arguments each GMConv kind of ``used`` (``'SGMConv'``,
    ``'DGMConv'``) gets (the layers of a kind take the same names in 1D,
    2D and 3D)."""
    takers = {kind: _keyword_args(cls) for kind, cls in GMCONV_KINDS.items()}
    for key in kwargs:
        accepting = [kind for kind, names in takers.items() if key in names]
        if not accepting:
            raise TypeError(f'unknown GMConv argument {key!r}; ' +
                            ', '.join(f'{kind} takes {names}'
                                      for kind, names in takers.items()))
        if not any(key in takers[cls] for cls in used):
            raise ValueError(
                f'{key!r} is an argument of {accepting}, but no layer is '
                f'converted to ' + ' or '.join(accepting))
    return {
        kind: {
            k: v
            for k, v in kwargs.items() if k in takers[kind]
        }
        for kind in used
    }


def _gmconv_like(conv: nn.Module, cls: type, kwargs: dict) -> nn.Module:
    """A ``cls`` layer computing what ``conv`` does, sharing its params."""
    weight = conv.weight
    layer = cls(**{
        arg: getattr(conv, arg)
        for arg in _CONV2D_ARGS
    },
                bias=conv.bias is not None,
                device=weight.device,
                dtype=weight.dtype,
                **kwargs).to(device=weight.device, dtype=weight.dtype)
    layer.weight = weight
    layer.bias = conv.bias
    if type(conv) is not PLAIN_CONVS[_dims_of(conv)]:
        layer.conv_class = type(conv)  # fuse_gmconv gives it back
    for name, param in layer.named_parameters():
        if name not in ('weight', 'bias'):
            param.requires_grad_(weight.requires_grad)
    return layer.train(conv.training)
