"""tools/fuse_gmconv.py: a fused checkpoint loads into the plain network."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import mmgmconv  # noqa: F401

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'

S_GMCONV_CFG = """
_base_ = '{demo}'
model = dict(backbone=dict(gmconv_cfg=dict(
    stem=dict(_delete_=True, type='SGMConv', sigma_init=5.0))))
"""
PLAIN_CFG = """
_base_ = '{demo}'
model = dict(backbone=dict(gmconv_stages=(False, ) * 5))
"""


def build(path):
    init_default_scope('mmdet')
    return MODELS.build(Config.fromfile(path).model)


def test_fused_checkpoint_loads_into_plain_convs(tmp_path):
    (tmp_path / 'sgm.py').write_text(S_GMCONV_CFG.format(demo=DEMO))
    (tmp_path / 'plain.py').write_text(PLAIN_CFG.format(demo=DEMO))
    torch.manual_seed(0)
    gm = build(tmp_path / 'sgm.py')
    gm.init_weights()
    with torch.no_grad():
        for name, p in gm.named_parameters():
            if name.endswith('sigma'):
                p.uniform_(0.5, 3.0)
    torch.save(dict(state_dict=gm.state_dict()), tmp_path / 'gm.pth')
    proc = subprocess.run([
        sys.executable, 'tools/fuse_gmconv.py', tmp_path / 'sgm.py',
        tmp_path / 'gm.pth', tmp_path / 'fused.pth'
    ], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]

    plain = build(tmp_path / 'plain.py')
    load_checkpoint(plain, str(tmp_path / 'fused.pth'), strict=True)
    assert sum(p.numel() for p in plain.parameters()) == sum(
        p.numel() for n, p in gm.named_parameters() if 'sigma' not in n)
    gm.eval()
    plain.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(gm.extract_feat(x), plain.extract_feat(x)):
            assert (a - b).abs().max() <= 1e-5
