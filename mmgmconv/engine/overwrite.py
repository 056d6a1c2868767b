"""What ``tools/train.py --overwrite`` deletes, and what it must not.

``--overwrite`` starts a new run in a work dir that holds an earlier one.
It deletes the earlier run's checkpoints (``epoch_N.pth``, ``iter_N.pth``),
its ``last_checkpoint`` and every result a tool wrote there from them
(``metrics.json`` of tools/test.py and tools/deploy/onnx_test.py, the
``--out`` prediction pickles ``*.pkl`` / ``*.pickle``, ``result.json`` of
tools/analysis/sigma_study.py), so no table reports the earlier run's
number for the new one. The earlier run's logs (its ``TIMESTAMP/``
folders) are kept: they are history, and every tool reads the newest.

Before deleting anything the checkpoints the new run reads (``load_from``
and every ``init_cfg`` of type ``Pretrained`` or ``pretrained`` key in the
model; ``resume``, however it is set, is refused with ``--overwrite``) are
checked: a missing local file is an
error naming it, and one that is among the files to delete is refused
(that run would delete its own input). Files are compared by their real
path (symbolic links resolved), so a link to an input, or an input that
is a link to a file of the work dir, is caught too.
"""
import os
import os.path as osp
from typing import Iterator, List, Sequence, Tuple

from .resume import run_checkpoints

#: What tools write into a work dir from its checkpoints: tools/test.py's
#: and onnx_test.py's metrics, sigma_study.py's summary (exact names), and
#: tools/test.py's ``--out`` pickles (file name endings).
RESULT_NAMES = ('metrics.json', 'result.json')
RESULT_ENDINGS = ('.pkl', '.pickle')


def earlier_run_checkpoints(work_dir: str) -> List[str]:
    """The checkpoints of an earlier run in ``work_dir`` and its
    ``last_checkpoint``: what makes a work dir hold a run."""
    record = osp.join(work_dir, 'last_checkpoint')
    return run_checkpoints(work_dir) + ([record]
                                        if osp.lexists(record) else [])


def earlier_run_results(work_dir: str) -> List[str]:
    """The results tools wrote into ``work_dir`` (see ``RESULT_NAMES``),
    sorted by name."""
    if not osp.isdir(work_dir):
        return []
    return [osp.join(work_dir, name) for name in sorted(os.listdir(work_dir))
            if (name in RESULT_NAMES or name.endswith(RESULT_ENDINGS))
            and not osp.isdir(osp.join(work_dir, name))]


def _init_checkpoints(node, where: str) -> Iterator[Tuple[str, str]]:
    """``(config key, checkpoint)`` of every ``init_cfg`` of type
    ``Pretrained`` and every ``pretrained`` string under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f'{where}.{key}'
            if key == 'pretrained' and isinstance(value, str):
                yield here, value
            elif key == 'init_cfg':
                several = isinstance(value, (list, tuple))
                for i, init in enumerate(value if several else [value]):
                    at = f'{here}[{i}]' if several else here
                    if isinstance(init, dict) and init.get(
                            'type') == 'Pretrained' and isinstance(
                                init.get('checkpoint'), str):
                        yield f'{at}.checkpoint', init['checkpoint']
            else:
                yield from _init_checkpoints(value, here)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _init_checkpoints(item, f'{where}[{i}]')


def input_checkpoints(cfg) -> List[Tuple[str, str]]:
    """``(config key, path)`` of every checkpoint a new run of ``cfg``
    reads: ``load_from`` and the model's ``init_cfg`` (type
    ``Pretrained``) and ``pretrained`` entries. (A run that resumes reads
    its work dir's checkpoints: ``--overwrite`` refuses ``resume``.)"""
    found = ([('load_from', cfg.load_from)]
             if isinstance(cfg.get('load_from'), str) else [])
    return found + list(_init_checkpoints(cfg.get('model'), 'model'))


def check_overwrite(inputs: Sequence[Tuple[str, str]],
                    to_delete: Sequence[str], work_dir: str) -> None:
    """Raise before ``--overwrite`` deletes anything when a run input is
    missing or among ``to_delete``.

    Args:
        inputs: ``(config key, path)`` as :func:`input_checkpoints` gives;
            ``scheme://`` paths (downloads, remote storage) are left to
            mmengine's loader.
        to_delete: the files ``--overwrite`` would delete.
        work_dir: named in the messages.

    Raises:
        FileNotFoundError: an input is not a local file.
        FileExistsError: an input is (resolves to) a file to delete.
    """
    doomed = {osp.realpath(path): path for path in to_delete}
    for key, path in inputs:
        if '://' in path:
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{key}={path!r}: no such file; nothing in {work_dir} was '
                'deleted. Fix the path (--cfg-options '
                f'{key}=PATH) and run again')
        hit = doomed.get(osp.realpath(path))
        if hit is not None:
            raise FileExistsError(
                f'{key}={path!r} is {hit}, one of the files of the earlier '
                f'run that --overwrite deletes; nothing in {work_dir} was '
                f'deleted. Copy it out of the work dir first (e.g. cp {hit} '
                f'weights.pth) and give {key} the copy, or train into '
                'another --work-dir')
