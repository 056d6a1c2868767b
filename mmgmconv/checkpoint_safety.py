"""The project's checkpoint policy, installed on request only.

``import mmgmconv`` does not install it. The project's tools call
:func:`install_checkpoint_policy` first thing, the project's configs import
``mmgmconv.safe_checkpoints`` (which calls it), and library users call it
when they want it. mmengine reads every checkpoint (``load_checkpoint``,
``Runner.load_checkpoint`` and ``resume``, ``load_from``,
``init_cfg=dict(type='Pretrained')``, mmdet's and mmpretrain's inferencers)
through ``CheckpointLoader``, which picks a loader by the path's scheme.
:func:`install_checkpoint_policy` replaces the loader of each scheme
mmengine has (local paths, ``http(s)://``,
``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``openmmlab://``,
``mmcls://``, ``pavi://``, ``s3://``, ``petrel://``) with one that:

* takes a URL's file from torch hub's own cache
  (``$TORCH_HOME/hub/checkpoints/NAME``) when it is there, as torch hub
  does (a file placed there beforehand, as on offline clusters, is used and
  never downloaded again); downloads it otherwise to a cache keyed by the
  whole URL (:func:`download_checkpoint`): written atomically, never
  unpacked, checked against the SHA-256 prefix that torch hub's
  ``NAME-<sha256 prefix>.EXT`` file-name convention puts in the URL;
* refuses, each with a :class:`CheckpointError` naming the file, what is not
  a whole torch checkpoint: an empty file, a truncated one, a zip archive
  without ``data.pkl``, a TorchScript archive, random bytes, a zip member
  whose bytes do not match its CRC-32 (:func:`damaged_member`; the format
  before torch 1.6 records no checksum), a folder; and, once unpickled,
  anything but a dict;
* unpickles without running code (:func:`load_checkpoint_file`): with
  ``torch.load(weights_only=True)`` and the allow-list below on torch >= 2.6,
  with a restricted unpickler holding the same allow-list on older torch
  (which cannot allow-list ``(object, name)`` pairs and loads with
  ``weights_only=False`` by default), and on torch >= 2.6 for what torch's
  own reader cannot read although the allow-list has it (pickle protocols 4
  and 5, a ``defaultdict``'s items); anything else refused by name
  (:class:`UnsafeCheckpointError`), with how to allow a type of a file one
  trusts (:func:`allow_checkpoint_types`);
* refuses a state dict with NaN in a floating-point tensor, or inf in a
  weight, a bias or a GMConv parameter (:func:`inf_is_a_bug`)
  (:class:`NonFiniteCheckpointError`), naming the tensors: a model loaded
  from it computes NaN. ``+-inf`` in other buffers is left alone: models
  keep it on purpose (attention masks, clamp bounds).

The allow-list: what ``torch.load(weights_only=True)`` allows on torch
>= 2.6 (tensors, parameters, storages, dtypes, ``OrderedDict``, ...) and
what an mmengine training checkpoint holds besides: the message hub's
``HistoryBuffer`` objects, numpy arrays and scalars (numbers, strings,
bytes, dates, objects), the standard types of
:data:`HARMLESS_STANDARD_TYPES` (paths, ``argparse.Namespace``,
``defaultdict``), and references to
``HistoryBuffer.min`` (``max``, ``mean``, ``current``), pickled as
``builtins.getattr(HistoryBuffer, 'min')`` (by their qualified names with
pickle protocols 4 and 5). Instead of ``getattr`` itself (which would let a
checkpoint reach any attribute, e.g. ``os.system``), a stand-in resolves
only those four methods.

Not covered: a ``torch.load`` or ``torch.hub.load_state_dict_from_url`` the
user (or a library) calls directly, mmengine's ``load_from_*`` functions
called directly instead of through ``CheckpointLoader``, and schemes another
package registers after :func:`install_checkpoint_policy`.
"""
import _compat_pickle
import argparse
import contextlib
import difflib
import functools
import hashlib
import importlib
import io
import logging
import os
import os.path as osp
import pathlib
import pickle
import re
import struct
import uuid
import zipfile
import zlib
from codecs import encode
from collections import Counter, OrderedDict, defaultdict
from tempfile import TemporaryDirectory
from typing import BinaryIO, Dict, List, Optional, Tuple
from urllib.error import URLError
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import HistoryBuffer, print_log

# mmengine's model tables and file backends, looked up where mmengine looks
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from .ops.sgm_conv import FOLDED_KEY

_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')

#: torch >= 2.6 allow-lists ``(object, 'module.name')`` pairs for
#: ``weights_only`` (needed for numpy's renamed module and the ``getattr``
#: stand-in); older torch gets the restricted unpickler.
TORCH_ALLOW_LISTS_WEIGHTS_ONLY = tuple(
    int(v) for v in re.findall(r'\d+', torch.__version__)[:2]) >= (2, 6)

#: torch hub's file-name convention ``NAME-<sha256 prefix>.EXT`` (eight or
#: more hex digits, as torch hub's documentation asks for).
HASH_IN_FILE_NAME = re.compile(r'-([a-f0-9]{8,})\.')


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and
    why."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that asks the unpickler for something not allow-listed
    (a pickle that could run code)."""


class NonFiniteCheckpointError(CheckpointError):
    """A checkpoint whose state dict holds NaN or inf."""


class _RefusedGlobal(pickle.UnpicklingError):
    """What an unpickled checkpoint asked for and was refused; the loader
    names the file."""

    def __init__(self, name):
        super().__init__(f'refusing {name} while loading a checkpoint')
        self.name = name


def history_buffer_getattr(obj, name):
    """``getattr`` limited to ``HistoryBuffer``'s statistics methods."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(obj, name)
    raise _RefusedGlobal(
        f'getattr({obj!r}, {name!r}) (only HistoryBuffer.'
        f'{{{",".join(_HISTORY_BUFFER_STATISTICS)}}} are allowed)')


#: The numpy dtypes whose arrays and scalars a checkpoint may hold: numbers,
#: bools, strings, bytes, dates, time spans and object arrays (whose
#: elements are unpickled under the same allow-list). None builds anything
#: but data.
NUMPY_DTYPE_CODES = '?bhilqBHILQefdgFDGUSMmO'


def _numpy_globals():
    # numpy 2 names; numpy 1 has only np.core (checkpoints name either)
    core = 'numpy._core' if int(np.__version__.split('.')[0]) >= 2 else (
        'numpy.core')
    functions = {  # _frombuffer: how pickle protocol 5 writes an array
        'multiarray._reconstruct', 'multiarray.scalar', 'numeric._frombuffer'}
    dtype_classes = [type(np.dtype(c)) for c in NUMPY_DTYPE_CODES]
    return [np.ndarray, np.dtype, *dtype_classes] + [
        (_resolve(f'{core}.{function}'), f'{prefix}.{function}')
        for function in sorted(functions)
        for prefix in ('numpy._core', 'numpy.core')
    ]


#: Standard types that training scripts put into a checkpoint's meta and
#: that build nothing but data (our choice, beyond torch's allow-list):
#: paths (built from strings, no file is touched), ``argparse.Namespace``
#: (its attributes are set from an unpickled dict), ``defaultdict`` and the
#: builtin constructors a ``defaultdict`` names as its default factory.
HARMLESS_STANDARD_TYPES = (
    pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
    argparse.Namespace, defaultdict, list, dict, tuple, int, float, str)


def _mmengine_globals():
    """What an mmengine checkpoint holds beyond torch's own allow-list:
    objects, or ``(object, 'module.name')`` where the name differs."""
    # pickle protocol 2 names HistoryBuffer.min as getattr(HistoryBuffer,
    # 'min'), protocols 4 and 5 by its qualified name
    statistics = [(getattr(HistoryBuffer, name),
                   f'{HistoryBuffer.__module__}.HistoryBuffer.{name}')
                  for name in _HISTORY_BUFFER_STATISTICS]
    # Python >= 3.13 defines the paths in pathlib._local: files name either
    paths = [(cls, f'pathlib.{cls.__name__}') for cls in
             HARMLESS_STANDARD_TYPES if issubclass(cls, pathlib.PurePath)]
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'),
            *statistics, *_numpy_globals(), *HARMLESS_STANDARD_TYPES, *paths]


def allow_mmengine_checkpoint_types() -> bool:
    """Allow-list what mmengine checkpoints contain for ``weights_only``.

    Returns:
        ``False`` on torch < 2.6, which cannot allow-list them (nothing is
        changed; mmgmconv's loaders use the restricted unpickler there),
        ``True`` otherwise.
    """
    if not TORCH_ALLOW_LISTS_WEIGHTS_ONLY:
        return False
    torch.serialization.add_safe_globals(_mmengine_globals())
    return True


#: What ``torch.save`` writes into a checkpoint's pickle besides
#: containers, by the names the file holds (``torch.load(weights_only=True)``
#: allows the same): the restricted unpickler resolves them by name on torch
#: < 2.6. Names a torch version does not have are left out.
TORCH_PICKLE_NAMES = (
    'torch.Size', 'torch.Tensor', 'torch.device',
    'torch.nn.parameter.Parameter', 'torch.serialization._get_layout',
    'torch._tensor._rebuild_from_type_v2', 'torch._utils._rebuild_parameter',
    'torch._utils._rebuild_parameter_with_state',
    'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2',
    'torch._utils._rebuild_tensor_v3', 'torch._utils._rebuild_sparse_tensor',
    'torch._utils._rebuild_meta_tensor_no_storage',
    'torch._utils._rebuild_nested_tensor', 'torch._utils._rebuild_qtensor',
    'torch._utils._rebuild_device_tensor_from_numpy',
)

#: Types allowed by :func:`allow_checkpoint_types` for the restricted
#: unpickler (torch < 2.6); ``'module.name'`` -> object.
_ALLOWED_BY_USER: Dict[str, object] = {}


def _resolve(dotted: str):
    module, _, name = dotted.rpartition('.')
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _entry_name(entry) -> Tuple[object, str]:
    return (entry if isinstance(entry, tuple) else
            (entry, f'{entry.__module__}.{entry.__qualname__}'))


@functools.lru_cache(maxsize=1)
def _restricted_globals() -> Dict[str, object]:
    """``'module.name'`` -> object: what the restricted unpickler builds.

    What torch writes (:data:`TORCH_PICKLE_NAMES`, every dtype), the
    entries torch 2.6 added to its ``weights_only`` allow-list (bytes,
    sets, ...), and the mmengine types.
    """
    allowed = {name: obj for name in TORCH_PICKLE_NAMES
               if (obj := _resolve(name)) is not None}
    allowed.update({
        'collections.OrderedDict': OrderedDict,
        'collections.Counter': Counter,
        '_codecs.encode': encode,  # how protocol 2 pickles bytes
        'builtins.bytearray': bytearray,
        'builtins.set': set,
        'builtins.complex': complex,
    })
    allowed.update({str(t): t for t in vars(torch).values()
                    if isinstance(t, torch.dtype)})
    for entry in _mmengine_globals():
        obj, name = _entry_name(entry)
        allowed[name] = obj
    return allowed


def allow_checkpoint_types(*objects) -> None:
    """Allow checkpoints to hold ``objects`` (classes or functions) under the
    policy: for files one trusts whose meta holds one's own types
    (``pathlib.PosixPath``, ``argparse.Namespace``, a class of one's own).

    On torch >= 2.6 this is ``torch.serialization.add_safe_globals``
    (the same list ``torch.load(weights_only=True)`` reads); on older torch
    it extends the restricted unpickler's allow-list (which also reads
    files of pickle protocol 4 or 5 on torch >= 2.6). Each entry is an
    object or an ``(object, 'module.name')`` pair, as for
    ``add_safe_globals``. Allowing a type lets every checkpoint build it:
    allow only what cannot run code when built.
    """
    if TORCH_ALLOW_LISTS_WEIGHTS_ONLY:
        torch.serialization.add_safe_globals(list(objects))
    for entry in objects:  # also read for pickle protocols 4 and 5
        obj, name = _entry_name(entry)
        _ALLOWED_BY_USER[name] = obj


class _RestrictedUnpickler(pickle.Unpickler):
    """A pickle ``Unpickler`` that builds only allow-listed globals."""

    def find_class(self, module, name):
        # Python 2 names, which protocol 2 pickles use (as pickle does)
        module, name = _compat_pickle.NAME_MAPPING.get((module, name),
                                                       (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        dotted = f'{module}.{name}'
        obj = allowed_global(dotted)
        if obj is None:
            raise _RefusedGlobal(dotted)
        return obj


def allowed_global(dotted: str):
    """The object a checkpoint may build under the name ``dotted``
    (``'module.name'``), or None: the allow-list, what
    :func:`allow_checkpoint_types` added, and on torch >= 2.6 what
    ``torch.serialization.add_safe_globals`` added."""
    obj = _restricted_globals().get(dotted, _ALLOWED_BY_USER.get(dotted))
    if obj is None and TORCH_ALLOW_LISTS_WEIGHTS_ONLY:
        obj = {name: allowed for allowed, name in map(
            _entry_name, torch.serialization.get_safe_globals())}.get(dotted)
    return obj


class _RestrictedPickle:
    """The ``pickle_module`` interface ``torch.load`` uses for reading."""
    Unpickler = _RestrictedUnpickler

    @staticmethod
    def load(file, **kwargs):
        return _RestrictedUnpickler(file, **kwargs).load()


def _refused(source, name: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f'refusing to load checkpoint {source}: it asks to build {name}, '
        'which is not among what a checkpoint may hold (tensors, numbers, '
        'containers, numpy arrays, paths, mmengine training state); a '
        'pickle that builds other objects can run code on loading. If you '
        f'trust this file and {name} cannot run code when built, allow it '
        'before loading: mmgmconv.checkpoint_safety.allow_checkpoint_types('
        f'{name}) (on torch >= 2.6 the same as '
        f'torch.serialization.add_safe_globals([{name}])); for the '
        "project's tools, call it in a module that your config's "
        'custom_imports lists')


def damaged_member(archive: zipfile.ZipFile) -> Optional[str]:
    """The first member of ``archive`` whose bytes do not match the CRC-32
    the archive records for it, as ``'NAME (why)'``, or None.

    Reads every member once (about as long as reading the file). A member
    recorded with CRC 0 is taken as saved without one (torch's
    ``torch.utils.serialization.config.save.compute_crc32 = False``).
    """
    for info in archive.infolist():
        try:
            with archive.open(info) as member:
                while member.read(1 << 24):
                    pass
        except zipfile.BadZipFile as err:
            if info.CRC == 0 and 'CRC' in str(err):
                continue
            return f'{info.filename} ({err})'
        except (zlib.error, EOFError, NotImplementedError) as err:
            return f'{info.filename} ({type(err).__name__}: {err})'
    return None


def checkpoint_file_problem(f: BinaryIO) -> Optional[str]:
    """Why the open binary file ``f`` is not a whole torch checkpoint, or
    None. Reads its first bytes and, for a zip archive (``torch.save`` since
    torch 1.6), its members, checked against their CRC-32s
    (:func:`damaged_member`; no unpickling); leaves ``f`` at its start.
    A legacy (pre-1.6 format) file records no checksum: damage in it is
    found only where it breaks the pickle."""
    f.seek(0)
    head = f.read(4)
    f.seek(0)
    if not head:
        return 'the file is empty (0 bytes)'
    if zipfile.is_zipfile(f):
        f.seek(0)
        members = []
        try:
            with zipfile.ZipFile(f) as archive:
                members = [n.rsplit('/', 1)[-1] for n in archive.namelist()]
                damaged = (damaged_member(archive) if 'data.pkl' in members
                           and 'constants.pkl' not in members else None)
        except zipfile.BadZipFile as err:
            damaged = f'its zip directory ({err})'
        f.seek(0)
        if damaged:
            return (f'it is damaged: {damaged}; its bytes are not the ones '
                    'torch.save wrote (a bad disk, copy or download?). Use '
                    'another copy')
        if 'constants.pkl' in members:
            return ('it is a TorchScript archive (torch.jit.save), not a '
                    'checkpoint')
        if 'data.pkl' not in members:
            return ('it is a zip archive but not a torch checkpoint (no '
                    'data.pkl); archives are never unpacked')
        return None
    f.seek(0)
    if head.startswith(b'PK\x03\x04'):
        return ('it is truncated or damaged: it begins as a torch checkpoint '
                '(a zip archive) but its end (the zip directory) is missing '
                'or unreadable (an interrupted save, copy or download?)')
    if head[:1] != b'\x80':
        return ('it is not a torch checkpoint: neither a zip archive '
                '(torch.save) nor a pickle (torch.save before torch 1.6)')
    return None


def _error_summary(err: Exception) -> str:
    """``err`` in one line, without torch's advice to load with
    ``weights_only=False``."""
    lines = str(err).replace('WeightsUnpickler error:', '\n').splitlines()
    advice = re.compile(r'weights_only|Weights only|safe_globals|'
                        r'file an issue|documentation')
    reasons = [line.strip() for line in lines
               if line.strip() and not advice.search(line)]
    return type(err).__name__ + (f': {reasons[0]}' if reasons else '')


def pickle_protocol(f: BinaryIO) -> Optional[int]:
    """The pickle protocol of the checkpoint in the open binary file ``f``
    (of ``data.pkl`` in a zip archive), or None for a pickle before protocol
    2, which does not say; leaves ``f`` at its start."""
    f.seek(0)
    if zipfile.is_zipfile(f):
        f.seek(0)
        with zipfile.ZipFile(f) as archive:
            info = next(i for i in archive.infolist()
                        if i.filename.rsplit('/', 1)[-1] == 'data.pkl')
        # its first bytes as stored (torch stores members uncompressed),
        # after the local header: 30 bytes, then the name and extra field
        f.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack('<HH', f.read(4))
        f.seek(name_length + extra_length, os.SEEK_CUR)
        head = f.read(2) if info.compress_type == zipfile.ZIP_STORED else b''
    else:
        f.seek(0)
        head = f.read(2)
    f.seek(0)
    return head[1] if len(head) == 2 and head[0] == 0x80 else None


def _refused_name(err: Exception) -> Optional[str]:
    """The type or function ``err`` (from ``torch.load``) refuses to build,
    or None."""
    # torch's wordings: "Unsupported global: GLOBAL x.y", "unsupported
    # GLOBAL x.y whose module x is blocked", "GLOBAL x.y was not an allowed
    # global", "Can only build ... but got <class 'x.y'>"; and our getattr
    # stand-in's refusal, re-raised
    refused = (re.search(r'GLOBAL ([\w.]+)', str(err))
               or re.search(r"but got <class '([\w.]+)'>", str(err))
               or re.search(r'refusing (.+) while loading a checkpoint',
                            str(err)))
    return refused.group(1) if refused else None


#: The newest pickle protocol ``torch.load(weights_only=True)`` reads
#: (``torch.save`` writes protocol 2 unless given ``pickle_protocol``).
WEIGHTS_ONLY_MAX_PROTOCOL = 3


def _torch_load(f: BinaryIO, map_location):
    """``torch.load`` under the allow-list: ``weights_only=True`` on torch
    >= 2.6, the restricted unpickler on older torch, and also on torch >=
    2.6 where ``weights_only`` fails on something other than a type outside
    the allow-list: what torch's own reader cannot read (pickle protocols 4
    and 5, the items of a ``defaultdict``)."""
    protocol = pickle_protocol(f)
    if (TORCH_ALLOW_LISTS_WEIGHTS_ONLY
            and (protocol or 2) <= WEIGHTS_ONLY_MAX_PROTOCOL):
        try:
            return torch.load(f, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            name = _refused_name(err)
            if name is not None and allowed_global(name) is None:
                raise
        f.seek(0)
    _restricted_globals()  # built here: its errors are not the file's
    return torch.load(f, map_location=map_location, weights_only=False,
                      pickle_module=_RestrictedPickle)


def _unpickle(f: BinaryIO, map_location, source, whole: bool):
    """Unpickle under the allow-list; ``whole``: the file's CRC-32s were
    checked, so a failure is not damage."""
    try:
        return _torch_load(f, map_location)
    except _RefusedGlobal as err:
        raise _refused(source, err.name) from None
    except (OSError, MemoryError):
        raise
    except Exception as err:
        refused = _refused_name(err)
        if refused:
            raise _refused(source, refused) from None
        protocol = pickle_protocol(f)
        saved = ('a pickle of no protocol mark' if protocol is None else
                 f'a pickle of protocol {protocol}')
        if whole:
            raise CheckpointError(
                f'cannot load checkpoint {source}: the file is whole (its '
                f'CRC-32s match), {saved}, but torch {torch.__version__} '
                f'cannot unpickle it ({_error_summary(err)}); was it saved '
                'by a newer torch or by another library?') from None
        raise CheckpointError(
            f'cannot load checkpoint {source}: it is corrupt or not a torch '
            f'checkpoint ({_error_summary(err)}; {saved} in the format '
            'before torch 1.6, which records no checksum)') from None


def _type_name(obj) -> str:
    kind = type(obj)
    return (kind.__qualname__ if kind.__module__ == 'builtins' else
            f'{kind.__module__}.{kind.__qualname__}')


def _check_structure(checkpoint, source):
    """Refuse what mmengine cannot take as a checkpoint: anything but a
    dict, a ``state_dict`` entry that is not a dict, a ``meta`` entry that
    is neither a dict nor None (None is taken as no meta)."""
    expected = (
        "a checkpoint is a dict (torch.save(dict(state_dict=model."
        "state_dict(), meta=...))) or a state dict (torch.save("
        "model.state_dict()))")
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'cannot load checkpoint {source}: it holds a '
            f'{_type_name(checkpoint)}, not a dict: {expected}')
    if 'state_dict' not in checkpoint:
        return  # a state dict: its values are checked by the model
    for key, allowed in (('state_dict', (dict, )),
                         ('meta', (dict, type(None)))):
        if key in checkpoint and not isinstance(checkpoint[key], allowed):
            raise CheckpointError(
                f"cannot load checkpoint {source}: its '{key}' is a "
                f'{_type_name(checkpoint[key])}, not a dict'
                + (' (or None)' if key == 'meta' else '') + f': {expected}')


def inf_is_a_bug(key: str) -> bool:
    """Whether an inf in the state-dict entry ``key`` is a bug: in a weight,
    a bias, an S-GMConv ``sigma`` or a D-GMConv ``sigma_predictor`` (the
    model would compute inf or NaN). Elsewhere, in buffers, models keep
    ``+-inf`` on purpose (attention masks, bounds)."""
    parts = key.split('.')
    return (parts[-1] in ('weight', 'bias', 'sigma')
            or 'sigma_predictor' in parts[:-1])


def nonfinite_tensors(checkpoint) -> List[str]:
    """The state dict's floating-point tensors holding NaN, or inf where it
    is a bug (:func:`inf_is_a_bug`), each as ``'KEY (n NaN, m inf of N)'``.

    A NaN is a bug wherever it is; an inf in a weight, bias or GMConv
    parameter too, but not in a buffer that keeps it on purpose. The
    state dict is ``checkpoint['state_dict']`` when there is one, else the
    checkpoint itself, as mmengine's ``load_checkpoint`` takes it.
    """
    state = checkpoint
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state = checkpoint['state_dict']
    if not isinstance(state, dict):
        return []
    found = []
    for key, value in state.items():
        if not (isinstance(value, torch.Tensor)
                and value.layout == torch.strided and not value.is_meta
                and (value.is_floating_point() or value.is_complex())):
            continue
        # NaN and inf carry into the sum, so a finite sum (the fast test)
        # means finite elements; a non-finite one may also be an overflow
        if bool(torch.isfinite(value.sum())):
            continue
        nan = int(torch.isnan(value).sum())
        inf = int((~torch.isfinite(value)).sum()) - nan
        if nan or (inf and inf_is_a_bug(str(key))):
            found.append(f'{key} ({nan} NaN, {inf} inf of {value.numel()})')
    return found


def _check_finite(checkpoint, source):
    found = nonfinite_tensors(checkpoint)
    if found:
        shown = ', '.join(found[:10]) + (
            f', and {len(found) - 10} more' if len(found) > 10 else '')
        raise NonFiniteCheckpointError(
            f'checkpoint {source} holds NaN or inf in {len(found)} '
            f'tensor(s) of its state dict: {shown}. A model '
            'loaded from it computes NaN (did the training that wrote it '
            'diverge?); use an earlier checkpoint')


def load_checkpoint_stream(f: BinaryIO, map_location=None, source=None):
    """Load the checkpoint in the open binary file ``f`` under the policy
    (see the module docstring); ``source`` names it in errors."""
    source = source if source is not None else getattr(f, 'name', f)
    problem = checkpoint_file_problem(f)
    if problem is not None:
        raise CheckpointError(f'cannot load checkpoint {source}: {problem}')
    whole = zipfile.is_zipfile(f)  # checked against its CRC-32s above
    f.seek(0)
    checkpoint = _unpickle(f, map_location, source, whole)
    _check_structure(checkpoint, source)
    _check_finite(checkpoint, source)
    mark_folded_layers(checkpoint, source)
    return checkpoint


def mark_folded_layers(checkpoint, source=None) -> None:
    """Put a ``<layer>.gmconv_folded`` entry into the state dict for each
    layer that ``meta['gmconv_folded']`` names (``tools/fuse_gmconv.py``
    writes it: their weight already holds ``W * M(sigma)``).

    An :class:`~mmgmconv.SGMConv` given the entry refuses to load (it would
    mask the weight a second time); the plain convs of mmgmconv's backbones
    and ``FoldedConv2d`` consume it. The entries exist only in the loaded
    copy: the file, and a model fused in memory, keep the original
    architecture's keys. ``source`` names the checkpoint in errors.
    """
    if not isinstance(checkpoint, dict):
        return
    meta, state = checkpoint.get('meta'), checkpoint.get('state_dict')
    if not (isinstance(meta, dict) and isinstance(state, dict)):
        return
    layers = meta.get(FOLDED_KEY) or ()
    if not (isinstance(layers, (list, tuple))
            and all(isinstance(layer, str) for layer in layers)):
        raise CheckpointError(
            f"cannot load checkpoint {source}: its meta['{FOLDED_KEY}'] is "
            f'{layers!r}, not a list of layer names (as '
            'tools/fuse_gmconv.py writes it)')
    for layer in layers:
        state[f'{layer}.{FOLDED_KEY}'] = torch.tensor(True)


def load_checkpoint_file(path: str, map_location=None, source=None):
    """Load the local checkpoint ``path`` under the policy (see the module
    docstring); ``source`` names it in errors (default: ``path``)."""
    with open(path, 'rb') as f:
        return load_checkpoint_stream(f, map_location,
                                      path if source is None else source)


def cached_checkpoint_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`download_checkpoint` keeps ``url``:
    ``MODEL_DIR/<first 16 hex digits of sha256(url)>_<file name>``.

    ``MODEL_DIR`` defaults to ``<torch hub dir>/checkpoints/by-url``
    (``$TORCH_HOME/hub/...``). Keyed by the whole URL, so two URLs with the
    same file name never share a downloaded file. Nothing is written to
    torch hub's own files (``<torch hub dir>/checkpoints/NAME``).
    """
    directory = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints',
                                      'by-url')
    name = re.sub(r'[^A-Za-z0-9._-]', '_',
                  osp.basename(urlparse(url).path))[-100:] or 'checkpoint'
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return osp.join(directory, f'{key}_{name}')


def download_checkpoint(url: str, model_dir: Optional[str] = None,
                        progress: bool = False) -> str:
    """The local copy of the checkpoint at ``url``, downloaded once.

    Without ``model_dir``, a file of the URL's name in torch hub's cache
    (``<torch hub dir>/checkpoints/NAME``, under ``$TORCH_HOME``) is taken
    as it is, as ``torch.hub`` takes it: a file placed there beforehand is
    never downloaded again. Otherwise the file goes to
    :func:`cached_checkpoint_path` only after it is whole
    (torch hub's ``download_url_to_file`` writes a temporary file), passes
    the SHA-256 check where the URL's file name follows torch hub's
    ``NAME-<sha256 prefix>.EXT`` convention, and looks like a torch
    checkpoint (:func:`checkpoint_file_problem`); then it is renamed into
    place. A download that fails a check is not kept. Nothing is unpacked.
    """
    hub_file = osp.join(torch.hub.get_dir(), 'checkpoints',
                        osp.basename(urlparse(url).path))
    if model_dir is None and osp.isfile(hub_file):  # as torch hub does
        return hub_file
    path = cached_checkpoint_path(url, model_dir)
    if osp.isfile(path):
        return path
    os.makedirs(osp.dirname(path), exist_ok=True)
    match = HASH_IN_FILE_NAME.search(osp.basename(urlparse(url).path))
    hash_prefix = match.group(1) if match else None
    partial = f'{path}.{uuid.uuid4().hex}.partial'
    print_log(f'Downloading {url} to {path}', logger='current')
    try:
        try:
            torch.hub.download_url_to_file(url, partial, hash_prefix,
                                           progress=progress)
        except URLError as err:
            raise OSError(f'cannot download checkpoint {url}: {err}') from err
        except RuntimeError as err:
            if 'invalid hash value' not in str(err):
                raise
            raise CheckpointError(
                f'the download of {url} is not the file its name promises: '
                f'torch hub\'s NAME-<sha256 prefix> convention gives '
                f'{hash_prefix}, but {err}; it is not kept') from None
        with open(partial, 'rb') as f:
            problem = checkpoint_file_problem(f)
        if problem is not None:
            raise CheckpointError(f'cannot load checkpoint {url}: {problem}; '
                                  'the download is not kept')
        os.replace(partial, path)
    finally:
        if osp.exists(partial):
            os.remove(partial)
    return path


# The loaders of mmengine's schemes, under the same names (mmengine logs the
# name after ``load_from_``), reading through the policy.


def load_from_local(filename, map_location=None):
    """A local checkpoint file."""
    filename = osp.expanduser(filename)
    if osp.isdir(filename):
        raise IsADirectoryError(_folder_message(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, map_location)


def _folder_message(folder: str) -> str:
    checkpoints = sorted(n for n in os.listdir(folder)
                         if n.endswith(('.pth', '.pt', '.ckpt')))
    held = (f'; it holds {", ".join(checkpoints[:5])}'
            + (f' and {len(checkpoints) - 5} more' if len(checkpoints) > 5
               else '') if checkpoints else '')
    if osp.exists(osp.join(folder, '.metadata')):
        held += ('; it looks like a torch.distributed.checkpoint folder: '
                 'convert it to one file with torch.distributed.checkpoint.'
                 'format_utils.dcp_to_torch_save')
    return (f'cannot load checkpoint {folder}: it is a folder, not a '
            f'checkpoint file (torch.save): name the file{held}')


def load_from_http(filename, map_location=None, model_dir=None,
                   progress=os.isatty(0)):
    """An ``http(s)://`` URL, through :func:`download_checkpoint`; rank 0
    downloads first in distributed runs, as mmengine's loader. A download
    the policy refuses (unsafe, non-finite, damaged) is removed from the
    cache."""
    rank, world_size = get_dist_info()
    if rank == 0:
        path = download_checkpoint(filename, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            path = download_checkpoint(filename, model_dir, progress)
    try:
        return load_checkpoint_file(path, map_location,
                                    f'{filename} (downloaded to {path})')
    except CheckpointError:
        # refused: nothing of it stays in our cache (torch hub's own files,
        # which we only read, stay)
        if path == cached_checkpoint_path(filename, model_dir):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        raise


def _model_url(filename, urls, kind):
    name = filename.split('://', 1)[1]
    if name not in urls:
        close = difflib.get_close_matches(name, list(urls), n=5)
        raise CheckpointError(
            f'cannot load checkpoint {filename}: mmengine knows no {kind} '
            f'checkpoint named {name!r} ({len(urls)} known'
            + (f'; closest: {", ".join(close)}' if close else '') + ')')
    return urls[name]


def load_from_torchvision(filename, map_location=None):
    """``torchvision://NAME`` (and the deprecated ``modelzoo://NAME``)."""
    if filename.startswith('modelzoo://'):
        print_log('The URL scheme of "modelzoo://" is deprecated, please '
                  'use "torchvision://" instead', logger='current',
                  level=logging.WARNING)
    urls = mmengine_checkpoint.get_torchvision_models()
    return load_from_http(_model_url(filename, urls, 'torchvision'),
                          map_location)


def mmengine_home() -> str:
    """mmengine's home folder, where mmengine looks for it:
    ``$MMENGINE_HOME``, else ``$XDG_CACHE_HOME/mmengine``, else
    ``~/.cache/mmengine``."""
    return osp.expanduser(os.getenv('MMENGINE_HOME', osp.join(
        os.getenv('XDG_CACHE_HOME', '~/.cache'), 'mmengine')))


def load_from_openmmlab(filename, map_location=None):
    """``open-mmlab://NAME`` or ``openmmlab://NAME``: a URL or a file in
    mmengine's home, from mmengine's table (and ``open_mmlab.json`` there)."""
    prefix, name = filename.split('://', 1)
    deprecated = mmengine_checkpoint.get_deprecated_model_names()
    if name in deprecated:
        print_log(f'{prefix}://{name} is deprecated in favor of '
                  f'{prefix}://{deprecated[name]}', logger='current',
                  level=logging.WARNING)
        name = deprecated[name]
    urls = mmengine_checkpoint.get_external_models()
    url = _model_url(f'{prefix}://{name}', urls, 'open-mmlab')
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    return load_from_local(osp.join(mmengine_home(), url), map_location)


def load_from_mmcls(filename, map_location=None):
    """``mmcls://NAME``: an mmcls classifier's backbone (its
    ``backbone.*`` entries without the prefix, as mmengine's loader)."""
    urls = mmengine_checkpoint.get_mmcls_models()
    url = _model_url(filename, urls, 'mmcls')
    checkpoint = load_from_http(url, map_location)
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = OrderedDict((k[len('backbone.'):], v)
                           for k, v in state_dict.items()
                           if isinstance(k, str) and k.startswith('backbone.'))
    if not backbone:
        raise CheckpointError(
            f'cannot load checkpoint {filename} ({url}): it has no '
            "'backbone.*' entries, so it is not an mmcls classifier's "
            'checkpoint')
    return dict(state_dict=backbone)


def load_from_pavi(filename, map_location=None):
    """``pavi://PATH`` (needs the pavi package)."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(
            'Please install pavi to load checkpoint from modelcloud.')
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        path = osp.join(tmp_dir, model.name)
        model.download(path)
        return load_checkpoint_file(path, map_location, filename)


def load_from_ceph(filename, map_location=None, backend='petrel'):
    """``s3://`` or ``petrel://`` (optionally ``NAME:s3://``) through
    mmengine's file backend."""
    file_backend = mmengine_checkpoint.get_file_backend(
        filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return load_checkpoint_stream(buffer, map_location, filename)


#: mmengine 0.10's scheme prefixes and the loader that replaces each.
SCHEME_LOADERS = {
    '': load_from_local,
    'http://': load_from_http,
    'https://': load_from_http,
    'modelzoo://': load_from_torchvision,
    'torchvision://': load_from_torchvision,
    'open-mmlab://': load_from_openmmlab,
    'openmmlab://': load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    'pavi://': load_from_pavi,
    r'(\S+\:)?s3://': load_from_ceph,
    r'(\S+\:)?petrel://': load_from_ceph,
}


def install_checkpoint_policy() -> None:
    """Make every mmengine checkpoint scheme load through this policy, and
    allow-list mmengine's types for ``torch.load(weights_only=True)``
    (torch >= 2.6), in this process.

    The opt-in: ``import mmgmconv`` does not call it. The project's tools
    call it first thing and its configs through ``mmgmconv.safe_checkpoints``.
    Without it, on torch >= 2.6 mmengine cannot load its own training
    checkpoints (numpy objects in meta and the message hub are refused by
    ``weights_only``), and on older torch it unpickles with
    ``weights_only=False``. Calling it again changes nothing.
    """
    allow_mmengine_checkpoint_types()
    for prefix, loader in SCHEME_LOADERS.items():
        CheckpointLoader.register_scheme(prefix, loader, force=True)
