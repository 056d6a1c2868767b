"""tools/fuse_gmconv.py: a fused checkpoint loads into the plain network;
the tool never writes over its checkpoint or an existing file unasked."""
import importlib.util
import os
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
from mmgmconv.checkpoint_safety import CheckpointError

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
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


def load_tool(name):
    """A tools/ script as a module, to call its main() in this process."""
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def sgm_checkpoint(tmp_path_factory):
    """An S-GMConv config and a checkpoint of it, with an optimizer state
    (what a fused file would lose)."""
    folder = tmp_path_factory.mktemp('fuse')
    (folder / 'sgm.py').write_text(S_GMCONV_CFG.format(demo=DEMO))
    gm = build(folder / 'sgm.py')
    torch.save(dict(state_dict=gm.state_dict(), optimizer={'state': {}}),
               folder / 'gm.pth')
    return folder / 'sgm.py', folder / 'gm.pth'


def fuse(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['fuse_gmconv.py', *map(str, args)])
    load_tool('fuse_gmconv').main()


@pytest.mark.parametrize('alias', ['same', 'dotted', 'symlink', 'hardlink'])
def test_fuse_refuses_to_write_over_its_checkpoint(sgm_checkpoint, tmp_path,
                                                   monkeypatch, alias):
    config, ckpt = sgm_checkpoint
    before = ckpt.read_bytes()
    out = {'same': ckpt, 'dotted': ckpt.parent / '.' / '..' / ckpt.parent.name
           / ckpt.name, 'symlink': tmp_path / 'link.pth',
           'hardlink': tmp_path / 'hard.pth'}[alias]
    if alias == 'symlink':
        out.symlink_to(ckpt)
    elif alias == 'hardlink':
        os.link(ckpt, out)
    for force in ([], ['--force']):
        with pytest.raises(ValueError, match='is the CHECKPOINT .* itself'):
            fuse(monkeypatch, config, ckpt, out, *force)
        assert ckpt.read_bytes() == before


def test_fuse_replaces_an_existing_out_only_with_force(sgm_checkpoint,
                                                       tmp_path, monkeypatch):
    config, ckpt = sgm_checkpoint
    out = tmp_path / 'fused.pth'
    out.write_bytes(b'an earlier file')
    with pytest.raises(FileExistsError, match='fused.pth.* exists: name a new '
                       'file, or pass --force'):
        fuse(monkeypatch, config, ckpt, out)
    assert out.read_bytes() == b'an earlier file'
    fuse(monkeypatch, config, ckpt, out, '--force')
    fused = torch.load(out, weights_only=True)
    assert fused['meta']['gmconv_fused'] and not any(
        k.endswith('sigma') for k in fused['state_dict'])
    assert os.listdir(tmp_path) == ['fused.pth']  # no partial file left


def test_fuse_write_cut_short_leaves_out_intact(sgm_checkpoint, tmp_path,
                                                monkeypatch):
    config, ckpt = sgm_checkpoint
    out = tmp_path / 'fused.pth'
    out.write_bytes(b'an earlier file')

    def save_half_then_fail(obj, f, *args, **kwargs):
        with open(f, 'wb') as file:
            file.write(b'half a checkpoint')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', save_half_then_fail)
    with pytest.raises(OSError, match='No space left'):
        fuse(monkeypatch, config, ckpt, out, '--force')
    assert out.read_bytes() == b'an earlier file'
    assert os.listdir(tmp_path) == ['fused.pth']


@pytest.mark.parametrize('meta', [None, 'not a dict'])
def test_fuse_takes_meta_none_as_no_meta_and_refuses_other_types(
        sgm_checkpoint, tmp_path, monkeypatch, meta):
    config, ckpt = sgm_checkpoint
    source = tmp_path / 'meta.pth'
    torch.save(dict(torch.load(ckpt, weights_only=True), meta=meta), source)
    out = tmp_path / 'fused.pth'
    if meta is None:
        fuse(monkeypatch, config, source, out)
        fused = torch.load(out, weights_only=True)
        assert fused['meta']['gmconv_fused']
        assert fused['meta']['source_checkpoint'] == str(source)
    else:
        with pytest.raises(CheckpointError, match=f"{source}: its 'meta' is "
                           'a str, not a dict'):
            fuse(monkeypatch, config, source, out)
        assert not out.exists()
