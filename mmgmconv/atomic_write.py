"""Write a file so that its name never shows a partial or mixed content.

Every file the project's tools write (checkpoints, ``last_checkpoint``,
``metrics.json``, prediction pickles, result tables) goes through here: the
content is written to a temporary file next to the target, flushed to disk
and renamed over the target. ``os.replace`` within one directory is atomic
on POSIX file systems, so a crash, a kill or a full disk at any moment
leaves the target with its old content (or absent) or the complete new
one, never a part; the directory is synced as well, so the rename itself
survives a power loss. A failed write removes its temporary file.

This module imports nothing outside the standard library, so tools that
must run without torch (tools/analysis/collect_results.py) can load it by
its file path without importing the mmgmconv package.
"""
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator

#: Marks the temporary file a write goes to before it gets its name.
PARTIAL_SUFFIX = '.partial'


def partial_path(path: str) -> str:
    """The temporary file ``path`` is written to: ``NAME.partial.EXT``.

    The extension is kept last because some writers choose the format by
    it (matplotlib, ``mmengine.dump``, mmengine's ``DumpResults``).
    """
    root, ext = osp.splitext(path)
    return root + PARTIAL_SUFFIX + ext


def sync_and_replace(partial: str, path: str) -> None:
    """Flush ``partial`` to disk, then rename it to ``path`` and sync the
    directory (see the module docstring)."""
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    dir_fd = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield the temporary path to write ``path``'s content to.

    For writers that take a file name (``torch.save``, ``mmengine.dump``):
    when the block ends normally the file written there replaces ``path``;
    when it raises, the temporary file is removed and ``path`` is
    untouched.
    """
    partial = partial_path(str(path))
    try:
        yield partial
        sync_and_replace(partial, str(path))
    except BaseException:
        if osp.lexists(partial):
            os.remove(partial)
        raise


@contextmanager
def atomic_open(path: str, mode: str = 'w', **kwargs) -> Iterator:
    """``open(path, mode)`` whose content appears under ``path`` only once
    the block ended without an error (see :func:`atomic_path`)."""
    if mode not in ('w', 'wb'):
        raise ValueError(f'atomic_open writes a whole new file: mode must '
                         f'be "w" or "wb", got {mode!r}')
    with atomic_path(path) as partial:
        with open(partial, mode, **kwargs) as f:
            yield f


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path``: a crash leaves the old or the new text."""
    with atomic_open(path) as f:
        f.write(text)


def dump_json_atomically(obj, path: str, **kwargs) -> None:
    """``json.dump(obj)`` into ``path`` atomically (kwargs go to
    ``json.dump``); an object JSON cannot encode leaves ``path`` as it
    was."""
    with atomic_open(path) as f:
        json.dump(obj, f, **kwargs)
