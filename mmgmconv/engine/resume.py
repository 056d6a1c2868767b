"""Which checkpoint ``tools/train.py --resume`` continues from.

A checkpoint counts as complete when it is a whole torch zip archive. We
check that without unpickling anything (no code runs, whatever the file
holds) and without reading the tensors: ``torch.save`` writes the zip
central directory and its end record last, so a write cut short by a crash
(the failure this guards against) lacks them, and ``zipfile`` finds them by
reading the file's tail only, milliseconds even for a large checkpoint.
Corruption inside a file of full length is not looked for; loading it
still fails with torch's own error. Files in torch's pre-1.6 non-zip
format count as unreadable: torch 2 and mmengine never write them.
"""
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

#: Names mmengine's CheckpointHook gives checkpoints by default.
CHECKPOINT_NAME = re.compile(r'(?:epoch|iter)_(\d+)\.pth')


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete torch checkpoint, or None if it is."""
    if not osp.isfile(path):
        return 'the file does not exist'
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as err:
        return (f'it is truncated or not a torch checkpoint ({err}; '
                'torch.save writes a zip archive whose end is missing here)')
    except OSError as err:
        return f'it cannot be read ({err})'
    if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
        return 'it is a zip archive but not a torch checkpoint (no data.pkl)'
    return None


def check_resume_checkpoint(path: str) -> None:
    """Raise naming ``path`` when ``--resume PATH`` cannot resume from it.

    Remote paths (``scheme://``) are left to mmengine's loader.
    """
    if '://' in path:
        return
    problem = checkpoint_problem(path)
    if problem is not None:
        error = FileNotFoundError if not osp.isfile(path) else ValueError
        raise error(f'--resume {path}: cannot resume from it: {problem}')


def run_checkpoints(work_dir: str) -> List[str]:
    """The ``epoch_N.pth``/``iter_N.pth`` in ``work_dir``, newest (largest
    N) first."""
    if not osp.isdir(work_dir):
        return []
    found = [(int(m.group(1)), name) for name in os.listdir(work_dir)
             if (m := CHECKPOINT_NAME.fullmatch(name))]
    return [osp.join(work_dir, name) for _, name in sorted(found)[::-1]]


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def _read_record(record: str) -> Tuple[Optional[str], Optional[str]]:
    """``(checkpoint named by last_checkpoint, None)`` or ``(None, why
    it names none)``."""
    try:
        with open(record, 'rb') as f:
            raw = f.read(4097)
        named = raw.decode('utf-8').strip()
    except UnicodeDecodeError:
        return None, 'it is not text naming a checkpoint (corrupt?)'
    except OSError as err:
        return None, f'it cannot be read ({err})'
    if not named:
        return None, 'it is empty'
    if len(raw) > 4096 or '\0' in named or '\n' in named:
        return None, 'it does not hold one checkpoint path (corrupt?)'
    return named, None


def find_resume_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The checkpoint ``--resume`` (no value) continues from.

    The one ``WORK_DIR/last_checkpoint`` names when it is complete, with
    these rules:

    - a relative name is resolved against the work dir (not the current
      directory);
    - an absolute name outside the work dir whose file name the work dir
      also holds is the record of a moved or copied work dir: the work
      dir's own file is taken;
    - any other name outside the work dir is taken as it is (a
      ``CheckpointHook`` ``out_dir`` elsewhere; ``scheme://`` names are
      left to mmengine's loader).

    When that checkpoint is incomplete or missing, or ``last_checkpoint``
    is missing, empty or corrupt, the newest complete ``epoch_N.pth`` /
    ``iter_N.pth`` (largest N) *in the work dir* is taken: never one of
    another folder.

    Returns:
        ``(path, skipped)``: ``path`` is None when there is no checkpoint at
        all (a fresh run); ``skipped`` lists ``(file, why)`` for each file
        passed over, to be logged.

    Raises:
        FileNotFoundError: checkpoints were found but none is complete.
    """
    skipped = []
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.lexists(record):
        named, why = _read_record(record)
        if named is None:
            skipped.append((record, why))
        elif '://' in named:
            return named, skipped
        else:
            named = osp.join(work_dir, named)  # an absolute name stays
            own = osp.join(work_dir, osp.basename(named))
            if not _inside(named, work_dir) and osp.isfile(own):
                named = own  # a moved or copied work dir
            problem = checkpoint_problem(named)
            if problem is None:
                return named, skipped
            skipped.append((named, problem))
    for path in run_checkpoints(work_dir):
        if any(osp.realpath(path) == osp.realpath(s[0]) for s in skipped):
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    if skipped:
        raise FileNotFoundError(
            f'--resume: no complete checkpoint to resume from in {work_dir} '
            '(looked for last_checkpoint and epoch_N.pth/iter_N.pth): ' +
            '; '.join(f'{p}: {why}' for p, why in skipped))
    return None, skipped
