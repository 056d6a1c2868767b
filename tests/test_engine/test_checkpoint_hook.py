"""Checkpoints survive a crash (issue 13): faults injected while writing.

A training process is made to die half-way through writing a checkpoint
(or its newest checkpoint is truncated afterwards); ``tools/train.py
--resume`` must then continue from the last complete checkpoint.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import (
    BaseStorageBackend,
    FileClient,
    get_file_backend,
    register_backend,
)
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub, MMLogger

from mmgmconv.atomic_write import write_text_atomically
from mmgmconv.engine import CrashSafeCheckpointHook
from mmgmconv.engine.resume import (
    check_resume_checkpoint,
    find_resume_checkpoint,
)

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'
CRASH_EXIT_CODE = 77

# The digits demo cut to 2 iterations of 4 images per epoch, no validation.
TINY_CFG = """
_base_ = '{digits}'
custom_imports = dict(imports=['mmgmconv', 'mmgmconv.toolboxes.mmpretrain',
                              'crash_probe'],
                      allow_failed_imports=False)
train_dataloader = dict(batch_size=4, dataset=dict(indices=8))
train_cfg = dict(max_epochs=2, val_interval=100)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts={keep}),
                     logger=dict(interval=1))
custom_hooks = [dict(type='StartStateProbeHook')]
"""

# Imported by the training process. With CRASH_AT_CHECKPOINT_WRITE=N, the
# N-th checkpoint write puts half its bytes on disk and the process dies
# (as a kill or a node failure would). The probe saves the state training
# starts from (after a resume) to WORK_DIR/start_state.pth.
CRASH_PROBE = """
import os
import os.path as osp

import torch
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

CRASH_AT = int(os.environ.get('CRASH_AT_CHECKPOINT_WRITE', 0))
writes = 0
put = LocalBackend.put


def put_then_die_half_way(self, obj, filepath):
    global writes
    name = osp.basename(str(filepath))
    if name.startswith(('epoch_', 'iter_')):
        writes += 1
        if writes == CRASH_AT:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            os._exit({code})
    put(self, obj, filepath)


LocalBackend.put = put_then_die_half_way


@HOOKS.register_module()
class StartStateProbeHook(Hook):
    def before_train(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        torch.save(dict(epoch=runner.epoch, iter=runner.iter,
                        state_dict=model.state_dict(),
                        optimizer=runner.optim_wrapper.state_dict()),
                   osp.join(runner.work_dir, 'start_state.pth'))
""".format(code=CRASH_EXIT_CODE)


def make_cfg(tmp_path, keep):
    (tmp_path / 'crash_probe.py').write_text(CRASH_PROBE)
    cfg = tmp_path / f'tiny_keep{keep}.py'
    cfg.write_text(TINY_CFG.format(digits=DIGITS, keep=keep))
    return cfg


def train(cfg, work, *args, crash_at=0):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               CRASH_AT_CHECKPOINT_WRITE=str(crash_at),
               PYTHONPATH=os.pathsep.join(
                   [str(cfg.parent), str(ROOT),
                    os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(
        [sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(work),
         *args], cwd=ROOT, capture_output=True, text=True, env=env)


def assert_checkpoints_complete(work):
    """Every file under a checkpoint's name loads (safely) in full."""
    for path in work.glob('*_*.pth'):
        torch.load(path, weights_only=True)  # raises on a partial file


def assert_resumed_from(work, ckpt_path):
    """Training restarted from exactly the state saved in ``ckpt_path``."""
    ckpt = torch.load(ckpt_path, weights_only=True)
    start = torch.load(work / 'start_state.pth', weights_only=True)
    assert (start['epoch'], start['iter']) == (ckpt['meta']['epoch'],
                                               ckpt['meta']['iter'])
    assert start['iter'] > 0
    assert any('sigma' in k for k in start['state_dict'])
    assert start['state_dict'].keys() == ckpt['state_dict'].keys()
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(start['state_dict'][k], v), k
    saved_opt, opt = ckpt['optimizer'], start['optimizer']
    assert saved_opt['state']
    assert opt['state'].keys() == saved_opt['state'].keys()
    for idx, state in saved_opt['state'].items():
        assert torch.equal(opt['state'][idx]['momentum_buffer'],
                           state['momentum_buffer'])
    assert [g['lr'] for g in opt['param_groups']] == \
        [g['lr'] for g in saved_opt['param_groups']]


@pytest.mark.parametrize('keep', [1, -1])
def test_crash_while_writing_checkpoint_then_resume(tmp_path, keep):
    cfg, work = make_cfg(tmp_path, keep), tmp_path / 'work'
    crashed = train(cfg, work, crash_at=2)  # dies writing epoch 2's
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr[-3000:]
    assert_checkpoints_complete(work)
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')
    epoch_1 = tmp_path / 'epoch_1_after_crash.pth'
    epoch_1.write_bytes((work / 'epoch_1.pth').read_bytes())

    resumed = train(cfg, work, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_resumed_from(work, epoch_1)
    assert_checkpoints_complete(work)
    assert torch.load(work / 'epoch_2.pth')['meta']['epoch'] == 2
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_2.pth')
    assert (work / 'epoch_1.pth').exists() == (keep == -1)
    assert not list(work.glob('*.partial*'))


def test_truncated_latest_checkpoint_is_skipped_on_resume(tmp_path):
    cfg, work = make_cfg(tmp_path, -1), tmp_path / 'work'
    assert train(cfg, work).returncode == 0
    latest = work / 'epoch_2.pth'
    latest.write_bytes(latest.read_bytes()[:latest.stat().st_size // 2])

    resumed = train(cfg, work, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = sorted(work.glob('*/*.log'))[-1].read_text()  # the resumed run's
    assert f'--resume: skipped {latest}: it is truncated' in log
    assert_resumed_from(work, work / 'epoch_1.pth')
    assert_checkpoints_complete(work)  # epoch 2 written again, in full


def test_resume_path_to_broken_file_names_it(tmp_path):
    cfg, broken = make_cfg(tmp_path, 1), tmp_path / 'broken.pth'
    torch.save({'x': torch.ones(100)}, broken)
    broken.write_bytes(broken.read_bytes()[:-30])
    proc = train(cfg, tmp_path / 'work', '--resume', str(broken))
    assert proc.returncode != 0
    assert f'ValueError: --resume {broken}: cannot resume from it: it is ' \
        'truncated' in proc.stderr


def save_complete(path):
    torch.save({'meta': {}, 'w': torch.ones(3)}, path)


def save_truncated(path):
    save_complete(path)
    path.write_bytes(path.read_bytes()[:-100])


def test_find_resume_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) == (None, [])  # fresh run
    save_complete(tmp_path / 'epoch_2.pth')
    save_complete(tmp_path / 'epoch_10.pth')
    save_truncated(tmp_path / 'epoch_11.pth')
    # a crash between the rename and last_checkpoint: newest complete one
    assert find_resume_checkpoint(str(tmp_path)) == (
        str(tmp_path / 'epoch_10.pth'), [
            (str(tmp_path / 'epoch_11.pth'),
             'it is truncated or not a torch checkpoint (File is not a zip '
             'file; torch.save writes a zip archive whose end is missing '
             'here)')])
    write_text_atomically(str(tmp_path / 'last_checkpoint'),
                          str(tmp_path / 'epoch_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == (
        str(tmp_path / 'epoch_2.pth'), [])
    write_text_atomically(str(tmp_path / 'last_checkpoint'),
                          str(tmp_path / 'epoch_12.pth'))
    path, skipped = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_10.pth')
    assert skipped[0] == (str(tmp_path / 'epoch_12.pth'),
                          'the file does not exist')


def test_no_complete_checkpoint_is_a_clear_error(tmp_path):
    save_truncated(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(FileNotFoundError,
                       match=r'no complete checkpoint to resume from in .*'
                       r'epoch_1.pth: it is truncated'):
        find_resume_checkpoint(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='epoch_7.pth: cannot resume '
                       'from it: the file does not exist'):
        check_resume_checkpoint(str(tmp_path / 'epoch_7.pth'))
    (tmp_path / 'not_torch.pth').write_bytes(b'PK\x05\x06' + bytes(18))
    with pytest.raises(ValueError, match='not_torch.pth: cannot resume from '
                       r'it: it is a zip archive but not a torch checkpoint'):
        check_resume_checkpoint(str(tmp_path / 'not_torch.pth'))


class ObjectStore(BaseStorageBackend):
    """An in-memory object store: ``put`` is atomic, nothing renames."""
    objects = {}

    def get(self, filepath):
        return self.objects[filepath]

    def get_text(self, filepath):
        return self.objects[filepath].decode()

    def put(self, obj, filepath):
        self.objects[filepath] = obj

    def isfile(self, filepath):
        return filepath in self.objects

    def isdir(self, filepath):
        return False

    def remove(self, filepath):
        del self.objects[filepath]

    def join_path(self, filepath, *filepaths):
        return '/'.join([filepath.rstrip('/'), *filepaths])


class RecordingRunner:
    """What the hook uses of a runner; saves record the files present."""

    def __init__(self, work_dir):
        self.work_dir, self.epoch, self.iter = str(work_dir), 0, 0
        self.logger = MMLogger.get_instance('ckpt_hook_test')
        self.message_hub = MessageHub.get_instance(self.work_dir)
        self.files_while_saving = []

    def save_checkpoint(self, out_dir, filename, file_client_args=None,
                        backend_args=None, **kwargs):
        backend = get_file_backend(out_dir, backend_args=backend_args)
        self.files_while_saving.append(
            sorted(ObjectStore.objects) if isinstance(backend, ObjectStore)
            else sorted(os.listdir(out_dir)))
        backend.put(b'weights', backend.join_path(out_dir, filename))


@pytest.mark.parametrize('out_dir', [None, 'memory://bucket'])
def test_outdated_checkpoint_removed_after_the_new_one(tmp_path, out_dir):
    register_backend('memory', ObjectStore, force=True, prefixes='memory')
    FileClient.register_backend('memory', ObjectStore, force=True,
                                prefixes='memory')
    runner = RecordingRunner(tmp_path / 'work')
    os.makedirs(runner.work_dir)
    hook = CheckpointHook(interval=1, max_keep_ckpts=1, out_dir=out_dir)
    runner.hooks = [hook, CrashSafeCheckpointHook()]
    for each in runner.hooks:
        each.before_run(runner)
    for each in runner.hooks:
        each.before_train(runner)
    for runner.epoch in range(3):
        for each in runner.hooks:  # in priority order, as the runner's
            each.after_train_epoch(runner)
    last = str(tmp_path / 'work/epoch_3.pth')
    if out_dir is None:  # local: written as NAME.partial, then renamed
        assert runner.files_while_saving[2] == ['epoch_2.pth',
                                                'last_checkpoint']
        assert sorted(os.listdir(runner.work_dir)) == ['epoch_3.pth',
                                                       'last_checkpoint']
    else:  # object store: written under its name, old one removed after
        last = 'memory://bucket/work/epoch_3.pth'
        assert runner.files_while_saving[2] == [
            'memory://bucket/work/epoch_2.pth']
        assert sorted(ObjectStore.objects) == [last]
    assert (tmp_path / 'work/last_checkpoint').read_text() == last


def test_every_config_makes_its_checkpoints_crash_safe():
    configs = [p for p in (ROOT / 'configs').rglob('*.py')
               if '_base_' not in p.parts]
    assert len(configs) > 50
    for path in configs:
        cfg = Config.fromfile(path)
        assert dict(type=CrashSafeCheckpointHook.__name__) in \
            cfg.custom_hooks, path
        assert cfg.default_hooks.checkpoint.type == 'CheckpointHook', path


def test_resume_fallback_stays_inside_the_work_dir(tmp_path):
    """last_checkpoint names a truncated file of another run: the work
    dir's own newest complete checkpoint is taken, not the other run's."""
    work, other = tmp_path / 'work', tmp_path / 'other_run'
    work.mkdir(), other.mkdir()
    save_complete(work / 'epoch_1.pth')
    save_complete(other / 'epoch_2.pth')
    save_truncated(other / 'epoch_3.pth')
    (work / 'last_checkpoint').write_text(str(other / 'epoch_3.pth'))
    path, skipped = find_resume_checkpoint(str(work))
    assert path == str(work / 'epoch_1.pth')
    assert skipped[0][0] == str(other / 'epoch_3.pth')


def test_resume_relative_name_is_resolved_against_the_work_dir(
        tmp_path, monkeypatch):
    work = tmp_path / 'work'
    work.mkdir()
    save_complete(work / 'epoch_1.pth')
    save_complete(tmp_path / 'epoch_7.pth')  # in the current directory
    monkeypatch.chdir(tmp_path)
    (work / 'last_checkpoint').write_text('epoch_7.pth')
    path, skipped = find_resume_checkpoint(str(work))
    assert path == str(work / 'epoch_1.pth')
    assert skipped == [(str(work / 'epoch_7.pth'), 'the file does not exist')]
    (work / 'last_checkpoint').write_text('epoch_1.pth')
    assert find_resume_checkpoint(str(work)) == (str(work / 'epoch_1.pth'),
                                                 [])


@pytest.mark.parametrize('content', [b'\xff\xfe\x00\x81garbage', b'a\0b',
                                     b'x' * 5000])
def test_corrupt_last_checkpoint_is_skipped_with_a_message(tmp_path,
                                                           content):
    save_complete(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_bytes(content)
    path, skipped = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_1.pth')
    assert skipped[0][0] == str(tmp_path / 'last_checkpoint')
    assert '(corrupt?)' in skipped[0][1]


@pytest.mark.parametrize('old_location', ['gone', 'still there'])
def test_moved_work_dir_resumes_from_its_own_checkpoint(tmp_path,
                                                        old_location):
    old, work = tmp_path / 'old/work', tmp_path / 'new/work'
    work.mkdir(parents=True)
    save_complete(work / 'epoch_1.pth')
    save_complete(work / 'epoch_2.pth')
    (work / 'last_checkpoint').write_text(str(old / 'epoch_2.pth'))
    if old_location == 'still there':  # a copied work dir
        old.mkdir(parents=True)
        save_complete(old / 'epoch_2.pth')
    assert find_resume_checkpoint(str(work)) == (str(work / 'epoch_2.pth'),
                                                 [])


def test_training_again_into_a_run_is_refused_without_overwrite(tmp_path):
    cfg, work = make_cfg(tmp_path, 1), tmp_path / 'work'
    work.mkdir()
    save_complete(work / 'epoch_2.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    before = (work / 'epoch_2.pth').read_bytes()
    proc = train(cfg, work)
    assert proc.returncode != 0
    assert (f'FileExistsError: {work} holds the checkpoints of an earlier run'
            ' (epoch_2.pth, last_checkpoint), which a new run would '
            'overwrite: continue it with --resume, train into another '
            '--work-dir, or pass --overwrite') in proc.stderr
    assert (work / 'epoch_2.pth').read_bytes() == before
    proc = train(cfg, work, '--overwrite')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.load(work / 'epoch_2.pth')['meta']['epoch'] == 2
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_2.pth')
    assert not (work / 'epoch_1.pth').exists()  # max_keep_ckpts=1
    log = sorted(work.glob('*/*.log'))[-1].read_text()
    assert "--overwrite: deleted the earlier run's" in log
