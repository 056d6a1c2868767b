"""Table V's path run end to end in miniature (``make repro-mini`` on fewer
rows and less data): two backbones pretrained on digits and saved as
mmpretrain checkpoints, detectors with Table V's stage patterns loading
them (fold on load for a partial row), trained, tested and collected into a
Table V-shaped table, all through tools/reproduce.py."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmgmconv.datasets import make_shapes_coco

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
#: two of the 14 rows: Faster R-CNN's baseline (plain backbone) and Cascade
#: R-CNN's GMConv-DCN (GMConv backbone, masks folded into the DCN stages)
ROWS = ('faster-rcnn_r50-tiny_fpn_shapes',
        'cascade-rcnn_r50-tiny-gmconv-stem-l1-dconv-c3-c5_fpn_shapes')
#: a few iterations on 32 images, one process, no loader workers
TINY = ['train_dataloader.dataset.indices=32', 'train_cfg.max_epochs=1'] + [
    f'{loader}_dataloader.{key}'
    for loader in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')]


def test_mini_chain_from_backbones_to_a_table_v(tmp_path):
    # the shapes data where the configs look for it (run from tmp_path)
    make_shapes_coco(tmp_path / 'data/shapes_coco', num_train=32, num_val=8)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/reproduce.py'), 'mini', '--run',
         '--seeds', '0', '--rows', *ROWS, '--cfg-options', *TINY],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work = tmp_path / 'work_dirs/repro-mini'

    # 1. both backbones, as mmpretrain classifier checkpoints
    for name in ('resnet50-tiny_digits', 'resnet50-tiny-gmconv_digits'):
        state = torch.load(work / f'checkpoints/{name}.pth',
                           map_location='cpu')['state_dict']
        assert {k.split('.')[0] for k in state} == {'backbone', 'head'}
        assert any(k.endswith('.sigma') for k in state) == ('gmconv' in name)
    # 2. each detector started from its backbone; the partial rows folded
    # the first (training) run's log; tools/test.py's comes after it
    logs = {row: sorted((work / f'{row}/seed_0').glob('*/*.log'))[0]
            .read_text() for row in ROWS}
    assert 'resnet50-tiny_digits.pth' in logs[ROWS[0]]
    for row in ROWS[1:]:
        assert 'resnet50-tiny-gmconv_digits.pth' in logs[row]
        assert 'folded the S-GMConv masks of the checkpoint' in logs[row]
    assert 'folded' not in logs[ROWS[0]]
    # 3. tested: 4. one Table V-shaped table, the two rows' cells filled
    for row in ROWS:
        assert (work / f'{row}/seed_0/metrics.json').is_file()
    table = (work / 'results.md').read_text()
    assert table in proc.stdout
    lines = table.splitlines()
    assert lines[0].startswith('| Method | Usage of GMConv | Faster R-CNN AP')
    rows = [[c.strip() for c in line.split('|')[1:-1]] for line in lines[2:9]]
    cells = {tuple(row[:2]): row[2:] for row in rows}
    assert len(cells) == 7
    # Faster R-CNN's AP .. APl, then Cascade R-CNN's: filled where run
    assert cells['GMConv', 'None (Baseline)'][0].endswith('(1)')
    assert cells['GMConv', 'None (Baseline)'][4] == ''
    assert cells['GMConv-DCN', 'Stem L1'][4].endswith('(1)')
    assert cells['GMConv-DCN', 'Stem L1'][0] == ''
    assert cells['GMConv', 'Stem L1'] == [''] * 8
    # no paper numbers beside the miniature's, and the output says why
    assert ' / ' not in table.split('\n\n')[0]
    assert 'not the paper\'s results' in proc.stdout
