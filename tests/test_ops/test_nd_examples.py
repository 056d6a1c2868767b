"""The 1D and 3D examples (issue 31) run end to end: convert, train a few
steps, fold, export to ONNX and check it under onnxruntime."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / 'examples'


def load(name):
    spec = importlib.util.spec_from_file_location(name,
                                                  EXAMPLES / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # about 10 s on 2 cores
def test_sequence_example_trains_folds_and_exports(capsys):
    pytest.importorskip('onnxruntime')
    result = load('sequence_conv1d_gmconv').main(steps=15, num=64)
    assert result['losses'][-1] < result['losses'][0]
    assert result['accuracy'] > 0.6  # chance: 1/3
    assert result['folded_change'] < 1e-5
    assert result['onnx_diff'] < 1e-4
    assert set(result['sigmas']) == {'0', '3', '6'}  # '9' is 1x1: plain
    assert 'accuracy on 64 new sequences' in capsys.readouterr().out


@pytest.mark.slow  # about 30 s on 2 cores (r3d_18: 33M parameters)
def test_video_example_trains_folds_and_exports(capsys):
    pytest.importorskip('onnxruntime')
    pytest.importorskip('torchvision')
    result = load('video_r3d18_gmconv').main(steps=2, num_clips=4)
    assert result['losses'][-1] < result['losses'][0]
    assert result['folded_change'] < 1e-5
    assert result['onnx_diff'] < 1e-4
    assert 'stem.0' in result['sigmas']
    assert 'layer4.1.conv2.0' in result['sigmas']
    assert 'onnxruntime vs PyTorch at batch 3' in capsys.readouterr().out
