"""mmgmconv.atomic_write: a file's name never shows a partial content."""
import json
import os

import pytest

from mmgmconv.atomic_write import (atomic_open, atomic_path,
                                   dump_json_atomically, partial_path,
                                   write_text_atomically)


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


def test_atomic_open_only_writes_whole_files(tmp_path):
    with pytest.raises(ValueError, match='mode must be "w" or "wb", got '
                       "'a'"):
        with atomic_open(str(tmp_path / 'log.txt'), 'a'):
            pass
