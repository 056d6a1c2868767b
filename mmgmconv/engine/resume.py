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


def _checkpoints_newest_first(directory: str) -> List[str]:
    if not osp.isdir(directory):
        return []
    found = [(int(m.group(1)), name) for name in os.listdir(directory)
             if (m := CHECKPOINT_NAME.fullmatch(name))]
    return [osp.join(directory, name) for _, name in sorted(found)[::-1]]


def find_resume_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The checkpoint ``--resume`` (no value) continues from.

    The one ``WORK_DIR/last_checkpoint`` names when it is complete; else the
    newest complete ``epoch_N.pth``/``iter_N.pth`` (largest N) in that
    checkpoint's directory (the work dir when ``last_checkpoint`` is missing
    or empty).

    Returns:
        ``(path, skipped)``: ``path`` is None when there is no checkpoint at
        all (a fresh run); ``skipped`` lists ``(file, why)`` for each file
        passed over, to be logged.

    Raises:
        FileNotFoundError: checkpoints were found but none is complete.
    """
    skipped = []
    directory = work_dir
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip()
        if not named:
            skipped.append((record, 'it is empty'))
        elif (problem := checkpoint_problem(named)) is None:
            return named, skipped
        else:
            skipped.append((named, problem))
            directory = osp.dirname(named) or '.'
    for path in _checkpoints_newest_first(directory):
        if path in (s[0] for s in skipped):
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    if skipped:
        raise FileNotFoundError(
            f'--resume: no complete checkpoint to resume from in {directory} '
            '(looked for last_checkpoint and epoch_N.pth/iter_N.pth): ' +
            '; '.join(f'{p}: {why}' for p, why in skipped))
    return None, skipped
