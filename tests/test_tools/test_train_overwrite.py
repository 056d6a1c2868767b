"""tools/train.py --overwrite and the checkpoint a run starts from
(issue 30): --overwrite deletes no input and leaves no result of the
earlier run, conflicts with resume however it is set; load_from says how
well it fits, --resume refuses another model before the optimizer."""
import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmgmconv.engine import CheckpointMatchHook
from tiny_shapes import write_tiny_shapes_config
from tool_helpers import run_tool, save_checkpoint

ROOT = Path(__file__).parents[2]
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'

# The digits demo cut to 2 iterations of 4 images per epoch, no validation.
TINY = """
_base_ = '{digits}'
train_dataloader = dict(batch_size=4, dataset=dict(indices=8))
train_cfg = dict(max_epochs=1, val_interval=100)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
"""


def tiny_digits(folder, extra=''):
    path = Path(folder) / 'tiny.py'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TINY.format(digits=DIGITS) + extra)
    return path


def load_tool(path, name):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def earlier_run(work):
    """Fill ``work`` as an earlier run leaves it: checkpoints, the record,
    its test result (99.9) and a prediction pickle. Returns its files."""
    work.mkdir(parents=True)
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        torch.save({'meta': {}, 'state_dict': {}}, work / name)
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    (work / 'metrics.json').write_text(json.dumps(dict(
        config=str(DIGITS), checkpoint=str(work / 'epoch_2.pth'),
        metrics={'accuracy/top1': 99.9})))
    (work / 'preds.pkl').write_bytes(b'predictions')
    return files(work)


def files(work):
    return {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()}


def train_here(monkeypatch, *argv):
    """tools/train.py's main() in this process (for refusals, which come
    before any runner is built)."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(sys, 'argv', ['train.py', *map(str, argv)])
    load_tool('tools/train.py', 'train_tool').main()


@pytest.mark.parametrize('how', ['load_from', 'link', 'init_cfg',
                                 'init_cfg_list'])
def test_overwrite_refuses_to_delete_the_checkpoint_it_loads(
        tmp_path, monkeypatch, how):
    work = tmp_path / 'work'
    before = earlier_run(work)
    ckpt, options, key = work / 'epoch_1.pth', [], 'load_from'
    if how == 'link':  # a link outside the work dir to a file inside it
        (tmp_path / 'start.pth').symlink_to(ckpt)
        options = ['--cfg-options', f'load_from={tmp_path / "start.pth"}']
    elif how == 'load_from':
        options = ['--cfg-options', f'load_from={ckpt}']
    init = f"dict(type='Pretrained', checkpoint='{ckpt}')"
    extra = {
        'init_cfg': f'model = dict(backbone=dict(init_cfg={init}))\n',
        'init_cfg_list': 'model = dict(backbone=dict(init_cfg=['
        f"dict(type='Kaiming', layer='Conv2d'), {init}]))\n"
    }.get(how, '')
    key = {'init_cfg': 'model.backbone.init_cfg.checkpoint',
           'init_cfg_list': 'model.backbone.init_cfg[1].checkpoint'}.get(
               how, key)
    cfg = tiny_digits(tmp_path, extra)
    with pytest.raises(FileExistsError) as err:
        train_here(monkeypatch, cfg, '--work-dir', work, '--overwrite',
                   *options)
    assert str(err.value).startswith(f'{key}=')
    assert (f'is {ckpt}, one of the files of the earlier run that '
            f'--overwrite deletes; nothing in {work} was deleted. Copy it '
            'out of the work dir first') in str(err.value)
    assert files(work) == before


def test_overwrite_with_a_missing_load_from_deletes_nothing(
        tmp_path, monkeypatch):
    work = tmp_path / 'work'
    before = earlier_run(work)
    typo = work / 'epoch_l.pth'
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"load_from='{typo}': no such file; nothing in {work} was "
            'deleted')):
        train_here(monkeypatch, tiny_digits(tmp_path), '--work-dir', work,
                   '--overwrite', '--cfg-options', f'load_from={typo}')
    assert files(work) == before


@pytest.mark.parametrize('where', ['cfg-options', 'config'])
def test_overwrite_conflicts_with_resume_however_it_is_set(
        tmp_path, monkeypatch, where):
    work = tmp_path / 'work'
    before = earlier_run(work)
    if where == 'config':
        cfg = tiny_digits(tmp_path, 'resume = True\n')
        options, source = [], f'resume=True in {cfg} (or its _base_)'
    else:
        cfg = tiny_digits(tmp_path)
        options = ['--cfg-options', 'resume=True']
        source = '--cfg-options resume=True'
    with pytest.raises(ValueError, match=re.escape(
            f'--overwrite starts a new run, but {source} continues one: '
            'drop --overwrite to resume')):
        train_here(monkeypatch, cfg, '--work-dir', work, '--overwrite',
                   *options)
    assert files(work) == before


def digits_runner(cfg_path, work, **changes):
    """A Runner of the tiny digits config (its own log), with
    ``CheckpointMatchHook(**changes)`` registered."""
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work)
    cfg.experiment_name = '_'.join(Path(work).parts[-3:])  # its own log
    init_default_scope('mmpretrain')
    runner = Runner.from_cfg(cfg)
    hook = CheckpointMatchHook(config=str(cfg_path), **changes)
    runner.register_hook(hook)
    return runner, hook


def run_log(runner):
    return (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()


def test_load_from_logs_how_well_the_checkpoint_fits(tmp_path):
    cfg = tiny_digits(tmp_path)
    five = Config.fromfile(cfg)
    five.model.head.num_classes = 5
    ckpt = save_checkpoint(five, tmp_path / 'five_classes.pth')
    runner, hook = digits_runner(cfg, tmp_path / 'other', checkpoint=ckpt)
    runner.load_checkpoint(str(ckpt))
    hook.before_train(runner)
    log = run_log(runner)
    total = len([k for k in runner.model.state_dict()
                 if not k.endswith('num_batches_tracked')])
    assert (f'WARNING - load_from {ckpt} does not match the model exactly: '
            f"{total - 2} of the model's {total} tensors loaded (") in log
    assert ('0 missing from the checkpoint, 2 of another shape there (these '
            'keep their init), 0 of its keys not in the model (shape '
            'mismatch: head.fc.weight, head.fc.bias)') in log
    # the same model: one info line
    same = save_checkpoint(cfg, tmp_path / 'same.pth')
    runner, hook = digits_runner(cfg, tmp_path / 'same', checkpoint=same)
    runner.load_checkpoint(str(same))
    hook.before_train(runner)
    log = run_log(runner)
    assert f'load_from {same}: all {total} tensors of the model loaded' in log
    assert 'does not match' not in log
    # S-GMConv sigmas folded into plain convs by the model's load hook are
    # used, not unexpected
    plain = tiny_digits(tmp_path / 'plain', 'model = dict(backbone=dict('
                        'gmconv_stages=(True, False, False, False)))\n')
    runner, hook = digits_runner(plain, tmp_path / 'plain/work',
                                 checkpoint=same)
    assert not [k for k in runner.model.state_dict() if k.endswith('.sigma')]
    runner.load_checkpoint(str(same))
    hook.before_train(runner)
    log = run_log(runner)
    assert f'load_from {same}: all ' in log and 'does not match' not in log


def test_resume_hook_refuses_another_model_before_restoring_it(tmp_path):
    cfg = tiny_digits(tmp_path)
    five = Config.fromfile(cfg)
    five.model.head.num_classes = 5
    ckpt = save_checkpoint(five, tmp_path / 'five_classes.pth')
    runner, _ = digits_runner(cfg, tmp_path / 'w', checkpoint=str(ckpt),
                              resume=True)
    before = runner.model.state_dict()['head.fc.weight'].clone()
    with pytest.raises(RuntimeError) as err:
        runner.load_checkpoint(str(ckpt))
    assert str(err.value).startswith(
        f'checkpoint {ckpt} does not match the model of {cfg}:')
    assert 'size mismatch for head.fc.weight' in str(err.value)
    assert torch.equal(runner.model.state_dict()['head.fc.weight'], before)


# ---- through tools/train.py: training processes (slow) ------------------


def train(cfg, work, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return run_tool('tools/train.py', cfg, '--work-dir', work, *args,
                    env=env)


@pytest.fixture(scope='module')
def overwritten(tmp_path_factory):
    """An earlier run (test result 99.9, time-stamped an hour ahead, as a
    copied work dir or a node's clock can leave it), trained over with
    --overwrite into the same checkpoint names."""
    folder = tmp_path_factory.mktemp('overwrite')
    cfg, work = tiny_digits(folder), folder / 'work'
    earlier_run(work)
    ahead = time.time() + 3600
    os.utime(work / 'metrics.json', (ahead, ahead))
    collect = load_tool('tools/analysis/collect_results.py', 'collect')
    assert collect.run_done(work)[0]  # the earlier run counts as done
    proc = train(cfg, work, '--overwrite', '--cfg-options',
                 'train_cfg.max_epochs=2')
    return cfg, work, proc, collect


@pytest.mark.slow
def test_overwrite_deletes_the_earlier_runs_results(overwritten):
    _, work, proc, collect = overwritten
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.load(work / 'epoch_2.pth')['meta']['epoch'] == 2  # new
    assert not (work / 'metrics.json').exists()
    assert not (work / 'preds.pkl').exists()
    log = next(work.glob('*/*.log')).read_text()
    assert (f"--overwrite: deleted the earlier run's {work}/epoch_2.pth, "
            f'{work}/epoch_1.pth, {work}/last_checkpoint, '
            f'{work}/metrics.json, {work}/preds.pkl') in log
    # reproduce.py's and train_seeds.py's "done" check
    assert collect.run_done(work) == (
        False, f'{work}/metrics.json does not exist')


@pytest.mark.slow
def test_resume_into_another_model_is_refused_with_test_tools_message(
        overwritten, tmp_path):
    cfg, work, proc, _ = overwritten
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = train(cfg, tmp_path / 'five', '--resume', work / 'epoch_2.pth',
                 '--cfg-options', 'model.head.num_classes=5',
                 'train_cfg.max_epochs=3')
    assert proc.returncode != 0
    assert (f'RuntimeError: checkpoint {work}/epoch_2.pth does not match '
            f'the model of {cfg}:') in proc.stderr
    assert 'size mismatch for head.fc.weight' in proc.stderr
    assert not list((tmp_path / 'five').glob('*.pth'))


@pytest.mark.slow
def test_load_from_a_classifier_into_a_detector_is_refused(tmp_path):
    det = write_tiny_shapes_config(tmp_path, num_train=2, num_val=2)
    ckpt = save_checkpoint(DIGITS, tmp_path / 'classifier.pth')
    proc = train(det, tmp_path / 'work', '--cfg-options',
                 f'load_from={ckpt}')
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'ValueError: load_from {ckpt} does not fit the '
                           f'model of {det}: ')
    assert 'Training would start from a mostly random model' in last
    assert 'model.backbone.init_cfg.type=Pretrained' in last
    assert not list((tmp_path / 'work').glob('*.pth'))
