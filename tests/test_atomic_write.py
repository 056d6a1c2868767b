"""mmgmconv.atomic_write: a file's name never shows a partial content."""
import json
import os
import re
from pathlib import Path

import pytest

from mmgmconv.atomic_write import (
    atomic_open,
    atomic_path,
    dump_json_atomically,
    partial_path,
    write_text_atomically,
)

ROOT = Path(__file__).parents[1]


def test_complete_write_replaces_the_file(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text('old')
    dump_json_atomically(dict(a=1), str(path))
    assert json.loads(path.read_text()) == dict(a=1)
    write_text_atomically(str(path), 'new')
    assert path.read_text() == 'new'
    assert os.listdir(tmp_path) == ['metrics.json']


def test_failed_write_leaves_the_old_file_and_no_partial(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text('old')
    with pytest.raises(TypeError, match='not JSON serializable'):
        dump_json_atomically(dict(a=object()), str(path))  # fails half-way
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(str(path)) as f:
            f.write('half')
            raise KeyboardInterrupt
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['metrics.json']


def test_partial_name_keeps_the_extension(tmp_path):
    assert partial_path('d/preds.pkl') == 'd/preds.partial.pkl'
    assert partial_path('d/last_checkpoint') == 'd/last_checkpoint.partial'
    with atomic_path(str(tmp_path / 'x.pkl')) as partial:
        assert partial == str(tmp_path / 'x.partial.pkl')
        open(partial, 'wb').close()
    assert os.listdir(tmp_path) == ['x.pkl']


@pytest.mark.parametrize('umask', [0o022, 0o077])
def test_files_get_the_umask_permissions(tmp_path, umask):
    """As a plain ``open`` gives them (a temporary file of ``mkstemp``
    would be 0600 whatever the umask; issue 30)."""
    old = os.umask(umask)
    try:
        write_text_atomically(str(tmp_path / 'metrics.json'), '{}')
        with atomic_open(str(tmp_path / 'g.onnx'), 'wb') as f:
            f.write(b'x')
    finally:
        os.umask(old)
    for name in ('metrics.json', 'g.onnx'):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_open_only_writes_whole_files(tmp_path):
    with pytest.raises(ValueError, match='mode must be "w" or "wb", got '
                       "'a'"):
        with atomic_open(str(tmp_path / 'log.txt'), 'a'):
            pass


#: Ways to write a file that bypass mmgmconv.atomic_write.
DIRECT_WRITES = re.compile(r'json\.dump\(|pickle\.dump\(|\.write_text\(|'
                           r'\.write_bytes\(|open\([^)]*[\'"]w|torch\.save\(|'
                           r'savefig\(|mmengine\.dump\(')
#: Direct writes that are not files a tool produces.
NOT_OUTPUTS = {
    ('tools/analysis/benchmark.py', "open('/proc/self/clear_refs', 'w')"),
}
#: Not scanned here: their writes belong to the deploy work (issue 18:
#: export_onnx, onnx_test's metrics.json).
NOT_SCANNED = ('tools/deploy/', 'mmgmconv/deploy/')


def test_tools_write_their_files_through_atomic_write():
    """Every JSON, pickle, checkpoint, table or figure a tool writes goes
    through mmgmconv.atomic_write (a write to a ``partial`` path that is
    renamed once complete)."""
    direct = []
    for path in [*ROOT.glob('tools/**/*.py'), *ROOT.glob('mmgmconv/**/*.py')]:
        rel = path.relative_to(ROOT).as_posix()
        if rel == 'mmgmconv/atomic_write.py' or rel.startswith(NOT_SCANNED):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split('#')[0]
            if (DIRECT_WRITES.search(code) and 'partial' not in code
                    and not code.strip().startswith(('"', "'", '``'))
                    and not any(rel == f and s in code
                                for f, s in NOT_OUTPUTS)):
                direct.append(f'{rel}:{number}: {line.strip()}')
    assert not direct, '\n'.join(direct)
