"""``model.backbone.deploy=True`` (issue 9): the checkpoint written by
tools/fuse_gmconv.py loads strictly into the training config with the
switch on, and tools/test.py gives the same detections and AP as the GMConv
network; the unfused checkpoint loads into it too (folded on load)."""
import json

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmgmconv  # noqa: F401
from tiny_shapes import write_tiny_shapes_config
from tool_helpers import run_tool

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow


def run_test_tool(cfg, ckpt, out, *cfg_options):
    """tools/test.py's metrics and the detections it evaluated."""
    proc = run_tool('tools/test.py', cfg, ckpt, '--work-dir', out,
                    '--cfg-options',
                    f'test_evaluator.outfile_prefix={out}/dets', *cfg_options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / 'metrics.json').read_text())['metrics']
    return metrics, json.loads((out / 'dets.bbox.json').read_text())


def test_fused_checkpoint_with_deploy_gives_the_same_detections(tmp_path):
    cfg = write_tiny_shapes_config(tmp_path, num_train=1, num_val=4)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    model.init_weights()
    with torch.no_grad():  # masks and predictions away from their init
        for name, p in model.named_parameters():
            if name.endswith('.sigma'):
                p.uniform_(0.5, 2.0)
            elif 'sigma_predictor' in name:
                p.normal_(0, 0.1)
    torch.save(dict(meta=dict(), state_dict=model.state_dict()),
               tmp_path / 'gm.pth')
    proc = run_tool('tools/fuse_gmconv.py', cfg, tmp_path / 'gm.pth',
                    tmp_path / 'fused.pth')
    assert proc.returncode == 0, proc.stderr[-2000:]

    gm_metrics, gm_dets = run_test_tool(cfg, tmp_path / 'gm.pth',
                                        tmp_path / 'a')
    assert gm_dets  # an untrained detector still outputs boxes to compare
    deploy = 'model.backbone.deploy=True'
    for ckpt in ('fused.pth', 'gm.pth'):  # gm.pth: folded on load
        metrics, dets = run_test_tool(cfg, tmp_path / ckpt,
                                  tmp_path / ckpt[:-4], deploy)
        assert metrics == gm_metrics, ckpt
        assert len(dets) == len(gm_dets), ckpt
        for ours, theirs in zip(dets, gm_dets):
            assert (ours['image_id'], ours['category_id']) == (
                theirs['image_id'], theirs['category_id'])
            assert abs(ours['score'] - theirs['score']) <= 1e-5
            assert max(abs(a - b) for a, b in zip(
                ours['bbox'], theirs['bbox'])) <= 1e-3
