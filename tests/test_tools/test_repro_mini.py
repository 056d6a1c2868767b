"""Table V's path run end to end in miniature (``make repro-mini`` on fewer
rows and less data): two backbones pretrained on digits and saved as
mmpretrain checkpoints, detectors with Table V's stage patterns loading
them (fold on load for a partial row), trained, tested and collected into a
Table V-shaped table, all through tools/reproduce.py."""
import json
import os
import signal
import subprocess
import sys
import time
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


def test_the_printed_script_survives_an_interruption(tmp_path):
    """`reproduce.py mini > chain.sh; bash chain.sh`, killed while a
    detector trains: `--run` resumes it from its last complete checkpoint
    and tests it; the script run again then skips everything (one row of
    the chain, its backbone already in place)."""
    from mmengine.config import Config

    from mmgmconv.apis import build_model_from_config
    from mmgmconv.engine.resume import checkpoint_problem

    make_shapes_coco(tmp_path / 'data/shapes_coco', num_train=64, num_val=8)
    work = tmp_path / 'work_dirs/repro-mini'
    # step 1 done: the plain backbone's checkpoint where the configs look
    backbone = build_model_from_config(Config.fromfile(
        ROOT / 'configs/mini/resnet50-tiny_digits.py'))
    (work / 'checkpoints').mkdir(parents=True)
    torch.save(dict(state_dict=backbone.state_dict(), meta={}),
               work / 'checkpoints/resnet50-tiny_digits.pth')
    args = ['mini', '--seeds', '0', '--rows', ROWS[0], '--cfg-options',
            'train_dataloader.dataset.indices=64', 'train_cfg.max_epochs=4',
            'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=1',
            *TINY[2:]]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get('PYTHONPATH', '')]),
        PATH=os.pathsep.join([str(Path(sys.executable).parent),
                              os.environ['PATH']]))
    script = subprocess.run(
        [sys.executable, str(ROOT / 'tools/reproduce.py'), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    (tmp_path / 'chain.sh').write_text(script.stdout)
    run = work / f'{ROWS[0]}/seed_0'

    # 1. interrupted once the first epoch's checkpoint is complete
    chain = subprocess.Popen(['bash', 'chain.sh'], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 600
    while checkpoint_problem(str(run / 'epoch_1.pth')) is not None:
        assert chain.poll() is None, 'the chain stopped before epoch 1'
        assert time.monotonic() < deadline, 'no epoch_1.pth in 10 minutes'
        time.sleep(0.1)
    os.killpg(chain.pid, signal.SIGKILL)
    chain.wait()
    assert not (run / 'epoch_4.pth').exists(), 'not cut short: too slow?'
    assert not (run / 'metrics.json').exists()

    # 2. --run goes on: skips the backbone, resumes the detector, tests it
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/reproduce.py'), *args, '--run'],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '(done: work_dirs/repro-mini/checkpoints/resnet50-tiny_digits' \
        '.pth)' in proc.stdout
    assert ' --resume ' in proc.stdout
    logs = sorted(run.glob('*/*.log'))
    assert len(logs) == 3  # killed training, resumed training, test
    assert 'resumed epoch: ' in logs[1].read_text()
    assert 'Epoch(train) [4]' in logs[1].read_text()
    assert 'Epoch(train) [1]' not in logs[1].read_text()
    last = (run / 'last_checkpoint').read_text().strip()
    assert last.endswith('epoch_4.pth')
    assert json.loads((run / 'metrics.json').read_text())[
        'checkpoint'] == last

    # 3. the script again: everything is done, nothing is trained
    proc = subprocess.run(['bash', 'chain.sh'], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'done: {run.relative_to(tmp_path)}/metrics.json' in proc.stdout
    assert sorted(run.glob('*/*.log')) == logs
    assert (work / 'results.md').is_file()
