"""mmgmconv without mmdet / mmpretrain, and its registration with them
through the toolboxes' entry modules (``mmgmconv.toolboxes.*``).

Each check runs in a fresh interpreter: one with the toolboxes hidden (their
import fails as if they were not installed), one to see what
``import mmgmconv`` imports.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: subprocess runs, training or whole detectors: not in `make test-quick`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

# Hides the named top-level packages: importing them (or anything inside)
# raises ModuleNotFoundError, as for a package that is not installed.
HIDE = """
import sys
HIDDEN = {hidden!r}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in HIDDEN:
            raise ModuleNotFoundError(f'No module named {{name!r}}',
                                      name=name.split('.')[0])
        return None

sys.meta_path.insert(0, Blocker())
"""

USE_LAYERS = """
import torch
from mmcv.cnn import ConvModule, build_conv_layer
import mmgmconv
from mmgmconv import (DGMConv, SGMConv, convert_to_gmconv, fuse_gmconv,
                      gaussian_mask)

assert gaussian_mask(3, 1.0).shape == (3, 3)
x = torch.randn(2, 4, 9, 9)
conv = build_conv_layer(dict(type='SGMConv', sigma_init=2.0), 4, 6, 3,
                        padding=1)
block = ConvModule(6, 6, 3, padding=1, conv_cfg=dict(type='DGMConv'),
                   norm_cfg=dict(type='BN'))
model = torch.nn.Sequential(conv, block).eval()
with torch.no_grad():
    y = model(x)
    folded = fuse_gmconv(model)
    torch.testing.assert_close(folded(x), y)
assert type(folded[0]) is torch.nn.Conv2d
plain = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU())
assert type(convert_to_gmconv(plain)[0]) is SGMConv
"""


def run_python(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, '-c', code], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.parametrize('hidden', [['mmdet'], ['mmpretrain'], ['mmseg'],
                                    ['mmdet', 'mmpretrain', 'mmseg']])
def test_layers_work_without_toolbox(hidden):
    code = HIDE.format(hidden=hidden) + USE_LAYERS + f"""
for name in {hidden!r}:
    try:
        __import__(name)
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError(name + ' was not hidden')
try:
    mmgmconv.GMResNet
except ModuleNotFoundError as e:
    print('GMResNet:', e.name)
try:
    mmgmconv.models.GMResNetV1c
except ModuleNotFoundError as e:
    print('GMResNetV1c:', e.name)
"""
    out = run_python(code)
    if 'mmdet' in hidden:
        assert 'GMResNet: mmdet' in out
    if 'mmseg' in hidden:
        assert 'GMResNetV1c: mmseg' in out


def test_other_toolbox_still_registers():
    """mmdet hidden: the mmpretrain backbones still build, and back."""
    code = HIDE.format(hidden=['mmdet']) + """
import mmgmconv.toolboxes.mmpretrain
from mmpretrain.registry import MODELS
m = MODELS.build(dict(type='GMResNet_CIFAR', depth=18,
                      gmconv_stages=(True, True, False, False, False),
                      gmconv_cfg=dict(stem=dict(type='DGMConv'),
                                      body=dict(type='SGMConv'))))
print(type(m).__name__)
"""
    # the last line: the build logs where its GMConv is first
    assert run_python(code).splitlines()[-1] == 'GMResNet_CIFAR'
    code = HIDE.format(hidden=['mmpretrain']) + """
import mmgmconv.toolboxes.mmdet
from mmdet.registry import MODELS
m = MODELS.build(dict(type='GMResNet', depth=18,
                      gmconv_stages=(True, False, False, False, False),
                      gmconv_cfg=dict(stem=dict(type='DGMConv'))))
print(type(m).__name__)
"""
    assert run_python(code).splitlines()[-1] == 'GMResNet'


def test_import_leaves_toolbox_models_and_tool_packages_unimported():
    code = """
import sys, json
import mmgmconv
print(json.dumps(sorted(sys.modules)))
"""
    modules = set(json.loads(run_python(code)))
    for heavy in ('mmdet.models', 'mmpretrain.models', 'mmpretrain.datasets',
                  'mmseg.models', 'mmgmconv.models.backbones.seg_resnet',
                  'sklearn', 'pycocotools', 'matplotlib.pyplot',
                  'mmgmconv.models.backbones.gm_resnet'):
        assert heavy not in modules, heavy


def test_entry_modules_register_the_toolbox_modules():
    """What configs do (custom_imports of the entry module), whether the
    toolbox's registry was searched before or not."""
    code = """
import importlib.util
import mmgmconv
from mmdet.registry import MODELS as DET
from mmpretrain.registry import DATASETS, MODELS as CLS
assert DET.get('ResNet') is not None and DET.get('GMResNet') is None
import mmgmconv.toolboxes.mmdet, mmgmconv.toolboxes.mmpretrain
assert DET.get('GMResNet').__module__ == 'mmgmconv.models.backbones.gm_resnet'
assert CLS.get('GMMobileNetV2') is not None
assert CLS.get('GMAlexNet') is not None
assert CLS.get('GMResNet').__name__ == 'ClsGMResNet'
assert DATASETS.get('SklearnDigits') is not None
if importlib.util.find_spec('mmseg'):  # the mmseg extra (not in torch2.1)
    import mmgmconv.toolboxes.mmseg
    from mmseg.registry import MODELS as SEG
    assert SEG.get('GMResNetV1c').__module__ == (
        'mmgmconv.models.backbones.seg_resnet')
print('ok')
"""
    assert run_python(code).strip() == 'ok'


def test_broken_toolbox_is_an_error_not_a_silent_skip():
    code = """
import sys, types
broken = types.ModuleType('mmdet')
broken.__path__ = []
sys.modules['mmdet'] = broken
sys.modules['mmdet.models'] = None   # mmdet found, its models fail
import mmgmconv  # needs no toolbox
try:
    import mmgmconv.toolboxes.mmdet
except ModuleNotFoundError as e:
    print('error:', e.name)
"""
    assert run_python(code).strip().startswith('error: mmdet.models')


def test_star_import_without_toolboxes():
    """__all__ named the lazily imported GMResNet, so `from mmgmconv import
    *` imported mmdet and failed without it (issue 22)."""
    code = HIDE.format(hidden=['mmdet', 'mmpretrain']) + """
from mmgmconv import *
from mmgmconv.models import *
names = dir()
print(sorted(k for k in ('SGMConv', 'convert_to_gmconv', 'GMResNet')
             if k in names))
"""
    assert run_python(code).strip() == "['SGMConv', 'convert_to_gmconv']"
