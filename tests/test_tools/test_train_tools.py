"""tools/train.py, tools/test.py, resume and 2-process DDP on a tiny
dataset."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmgmconv.utils import check_dataset_paths, close_distributed
from tiny_shapes import DEMO_DET, write_tiny_shapes_config
from tool_helpers import run_tool

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]

#: what the tool tests add to the tiny shapes config
TRAINING = """
train_cfg = dict(max_epochs=2, val_interval=2)
# no warm-up: in its first steps (lr / 100) a body sigma's updates round
# away at 5 in float32, and the tests below check that the sigmas trained
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1),
                     logger=dict(interval=1))
randomness = dict(seed=0)
"""

# Saves each rank's GMConv parameters at the end of training.
RANK_DUMP_HOOK = """
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpGMConvParamsHook(Hook):
    def after_run(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        params = {k: v.detach().clone() for k, v in model.named_parameters()
                  if 'sigma' in k}
        torch.save(params, f'{runner.work_dir}/rank{get_rank()}.pth')
"""


@pytest.fixture(scope='module')
def tiny_cfg(tmp_path_factory):
    return write_tiny_shapes_config(tmp_path_factory.mktemp('det'),
                                    num_train=8, num_val=4, extra=TRAINING)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def trained(tiny_cfg, tmp_path_factory):
    work = tmp_path_factory.mktemp('work')
    proc = run_tool('tools/train.py', tiny_cfg, '--work-dir', work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work


def test_train_writes_checkpoints_and_logs(trained):
    assert (trained / 'epoch_1.pth').exists()
    assert (trained / 'epoch_2.pth').exists()
    logs = list(trained.glob('*/vis_data/scalars.json'))
    assert logs and 'coco/bbox_mAP' in logs[0].read_text()


def test_test_tool_prints_ap_table_and_saves_metrics(tiny_cfg, trained,
                                                     tmp_path):
    proc = run_tool('tools/test.py', tiny_cfg, trained / 'epoch_2.pth',
                    '--work-dir', tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| AP | AP50 | AP75 | APs | APm | APl |' in proc.stdout
    metrics = json.loads((tmp_path / 'metrics.json').read_text())['metrics']
    assert 0 <= metrics['coco/bbox_mAP_50'] <= 1


def test_test_tool_reports_mismatched_checkpoint(tiny_cfg, trained, tmp_path):
    proc = run_tool('tools/test.py', tiny_cfg, trained / 'epoch_2.pth',
                    '--work-dir', tmp_path, '--cfg-options',
                    'model.backbone.gmconv_stages=[False,False,False,False,'
                    'False]')
    assert proc.returncode != 0
    assert 'does not match the model of' in proc.stderr
    assert 'unexpected key in source state_dict: backbone.conv1.sigma_' \
        in proc.stderr


def test_resume_restores_sigmas_and_optimizer(tiny_cfg, trained, tmp_path):
    ckpt = torch.load(trained / 'epoch_1.pth')
    cfg = Config.fromfile(tiny_cfg)
    cfg.work_dir = str(tmp_path)
    cfg.resume, cfg.load_from = True, str(trained / 'epoch_1.pth')
    init_default_scope('mmdet')
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    assert runner.epoch == 1 and runner.iter == ckpt['meta']['iter']
    state = runner.model.state_dict()
    sigma_keys = [k for k in state if k.endswith('sigma')]
    assert sigma_keys
    for k in sigma_keys + ['backbone.conv1.sigma_predictor.fc2.weight']:
        assert torch.equal(state[k], ckpt['state_dict'][k])
    # the saved sigmas moved away from their init of 5: this is learned state
    assert any(state[k].item() != 5.0 for k in sigma_keys)
    opt_state = runner.optim_wrapper.state_dict()['state']
    for idx, saved in ckpt['optimizer']['state'].items():
        assert torch.equal(opt_state[idx]['momentum_buffer'],
                           saved['momentum_buffer'])
    runner.train()
    assert runner.epoch == 2


def test_two_process_ddp_keeps_gmconv_params_identical(tiny_cfg, tmp_path):
    (tmp_path / 'rank_dump_hook.py').write_text(RANK_DUMP_HOOK)
    cfg = tmp_path / 'ddp.py'
    cfg.write_text(f"_base_ = '{tiny_cfg}'\n"
                   "custom_imports = dict(imports=['mmgmconv', "
                   "'mmgmconv.toolboxes.mmdet', 'rank_dump_hook'])\n"
                   "custom_hooks = [dict(type='DumpGMConvParamsHook')]\n")
    # PYTHONFAULTHANDLER: a rank that aborts prints its Python stacks.
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable,
               PYTHONFAULTHANDLER='1',
               PYTHONPATH=f'{tmp_path}:{os.environ.get("PYTHONPATH", "")}',
               OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1'],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-8000:]
    rank0 = torch.load(tmp_path / 'work/rank0.pth')
    rank1 = torch.load(tmp_path / 'work/rank1.pth')
    assert rank0.keys() == rank1.keys() and len(rank0) > 5
    for k in rank0:
        assert torch.equal(rank0[k], rank1[k]), k
    # they trained: sigmas left their init value
    assert any(v.item() != 5.0 for k, v in rank0.items()
               if k.endswith('.sigma'))
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    # the same checkpoint through tools/dist_test.sh (2 processes)
    env['PORT'] = str(free_port())
    proc = subprocess.run(
        ['bash', 'tools/dist_test.sh', str(cfg),
         str(tmp_path / 'work/epoch_1.pth'), '2', '--work-dir',
         str(tmp_path / 'test')],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-8000:]
    assert '| AP | AP50 |' in proc.stdout
    assert (tmp_path / 'test/metrics.json').exists()


def test_missing_dataset_is_a_clear_error(tmp_path):
    cfg = Config.fromfile(DEMO_DET)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'shapes_coco')
    with pytest.raises(FileNotFoundError,
                       match=r"train_dataloader.dataset.data_root: "
                       r"'.*shapes_coco"
                       r".*' does not exist .*make_shapes_coco"):
        check_dataset_paths(cfg)
    cfg = Config.fromfile(ROOT /
                          'configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py')
    with pytest.raises(FileNotFoundError, match=r"'data/coco/' does not exist"
                       r".*download COCO 2017"):
        check_dataset_paths(cfg)


def test_sigma_logger_hook_writes_sigmas_to_logs(tiny_cfg, tmp_path):
    cfg = tmp_path / 'sigma.py'
    cfg.write_text(f"_base_ = '{tiny_cfg}'\n"
                   "custom_hooks = [dict(type='SigmaLoggerHook')]\n"
                   "train_cfg = dict(max_epochs=1, val_interval=10)\n")
    proc = run_tool('tools/train.py', cfg, '--work-dir', tmp_path / 'w')
    assert proc.returncode == 0, proc.stderr[-3000:]
    scalars = [json.loads(line) for line in
               next((tmp_path / 'w').glob('*/vis_data/scalars.json'))
               .read_text().splitlines()]
    last = [s for s in scalars if 'sigma/backbone.layer1.0.conv1' in s][-1]
    assert 'sigma1/backbone.conv1' in last and 'sigma2/backbone.conv1' in last
    assert 0 < last['sigma/backbone.layer1.0.conv1'] < 50
    log = next((tmp_path / 'w').glob('*/*.log')).read_text()
    assert 'sigma1/backbone.conv1:' in log


def test_close_distributed_destroys_the_process_group(tmp_path):
    store = torch.distributed.FileStore(str(tmp_path / 'store'), 1)
    torch.distributed.init_process_group('gloo', store=store, rank=0,
                                         world_size=1)
    assert torch.distributed.is_initialized()
    close_distributed()
    assert not torch.distributed.is_initialized()
    close_distributed()  # no group: nothing to do
