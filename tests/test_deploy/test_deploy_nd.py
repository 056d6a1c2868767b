"""ONNX export of 1D and 3D GMConv models (issue 31): dynamic batch and
length / clip size, onnxruntime parity with the unfolded PyTorch model."""
import re

import onnx
import pytest
import torch
from torch import nn

from mmgmconv import convert_to_gmconv
from mmgmconv.deploy import export_onnx
from mmgmconv.deploy.onnx_verify import max_abs_diff
from mmgmconv.ops import DGMConv1d, DGMConv3d, SGMConv1d, SGMConv3d


def perturb(model):
    """Sigmas and predictors away from their init: masks differ from all
    ones and between inputs."""
    torch.manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (SGMConv1d, SGMConv3d)):
                module.sigma.uniform_(0.5, 2.0)
            elif isinstance(module, (DGMConv1d, DGMConv3d)):
                for p in module.sigma_predictor.parameters():
                    p.normal_(0, 0.5)
    return model.eval()


def dynamic_dims(path):
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    return [d.dim_param or d.dim_value for d in dims]


def sequence_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(2, 8, 7, padding=3), nn.ReLU(),
                         nn.Conv1d(8, 8, 5, padding=2, groups=2), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                         nn.Linear(8, 3))


def clip_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv3d(3, 4, (3, 5, 5), padding=(1, 2, 2)),
                         nn.ReLU(), nn.Conv3d(4, 4, 3, padding=1),
                         nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                         nn.Linear(4, 3))


@pytest.mark.parametrize('build,shape,spatial_dims,names', [
    (sequence_model, (2, 40), 1, ['batch', 2, 'length']),
    (clip_model, (3, 4, 12, 12), 3, ['batch', 3, 'depth', 'height', 'width']),
])
def test_1d_and_3d_models_run_in_onnxruntime(tmp_path, build, shape,
                                             spatial_dims, names):
    model = perturb(convert_to_gmconv(build(), stem='0'))
    path = tmp_path / 'model.onnx'
    export_onnx(model, str(path), shape=shape, batch=2,
                spatial_dims=spatial_dims)
    assert dynamic_dims(path) == names
    for batch in (1, 3):
        bigger = shape[:1] + tuple(s + 3 for s in shape[1:])
        assert max_abs_diff(model, str(path), bigger, batch,
                            spatial_dims) < 1e-5


def test_bad_shape_for_the_dimensions_names_what_is_allowed(tmp_path):
    with pytest.raises(ValueError, match=re.escape(
            'shape must be (L) or (C, L) of positive integers '
            '(spatial_dims=1) and batch a positive integer, got shape '
            '(2, 40, 40)')):
        export_onnx(sequence_model(), str(tmp_path / 'x.onnx'),
                    shape=(2, 40, 40), spatial_dims=1)
    with pytest.raises(ValueError, match='spatial_dims must be 1, 2 or 3, '
                       'got 4'):
        export_onnx(clip_model(), str(tmp_path / 'x.onnx'), shape=(4, 8, 8),
                    spatial_dims=4)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # about 10 s: export and two onnxruntime runs of r3d_18
def test_torchvision_r3d_18_runs_in_onnxruntime(tmp_path):
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    model = torchvision.models.video.r3d_18(num_classes=4)
    perturb(convert_to_gmconv(model, stem='stem.0'))
    path = tmp_path / 'r3d_18.onnx'
    export_onnx(model, str(path), shape=(4, 32, 32), batch=1,
                spatial_dims=3)
    assert dynamic_dims(path) == ['batch', 3, 'depth', 'height', 'width']
    assert max_abs_diff(model, str(path), (6, 40, 32), 2, 3) < 1e-4


def test_tool_exports_and_verifies_a_3d_model_spec(tmp_path, monkeypatch,
                                                   capsys):
    from test_deploy_plain import load_tool
    tool = load_tool()
    out = tmp_path / 'clip.onnx'
    monkeypatch.setattr('sys.argv', [
        'export_onnx.py', 'test_deploy_nd:clip_model', str(out),
        '--convert', 'dims=3', '--spatial-dims', '3', '--shape', '3', '4',
        '10', '10', '--verify', '--atol', '1e-4'
    ])
    tool.main()
    assert dynamic_dims(out) == ['batch', 3, 'depth', 'height', 'width']
    assert 'onnxruntime vs PyTorch at batch 3, 36x42x42' in \
        capsys.readouterr().out
    monkeypatch.setattr('sys.argv', [
        'export_onnx.py', 'timm:resnet18', 'o.onnx', '--spatial-dims', '1',
        '--shape', '3', '32', '32'
    ])
    with pytest.raises(SystemExit):
        tool.parse_args()
    assert '--shape must be L or C L of positive integers' in \
        capsys.readouterr().err
