"""ONNX export of plain PyTorch models (issue 21), what export_onnx writes
and refuses to overwrite (issue 18), and its errors for bad options and
non-finite numbers (issue 19). Tiny inputs, no pretrained weights."""
import os
import re
import sys
from pathlib import Path

import onnx
import pytest
import torch
from onnx import helper
from torch import nn

import mmgmconv  # noqa: F401
from mmgmconv import DGMConv, SGMConv, convert_to_gmconv
from mmgmconv.deploy import SUPPORTED_OPSETS, OrtGraph, export_onnx
from mmgmconv.deploy.onnx_verify import max_abs_diff
from tool_helpers import import_tool

ROOT = Path(__file__).parents[2]


def perturb_gmconv(model):
    """Sigmas and D-GMConv predictors away from their init, so that the
    masks differ from all ones and per image."""
    torch.manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, SGMConv):
                module.sigma.uniform_(0.5, 3.0)
            elif isinstance(module, DGMConv):
                for p in module.sigma_predictor.parameters():
                    p.normal_(0, 0.5)
    return model.eval()


def run_in_onnxruntime(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path),
                                   providers=['CPUExecutionProvider'])
    (out, ) = session.run(None, {'input': x.numpy()})
    return torch.from_numpy(out)


def assert_dynamic_batch_matches(model, path, shape):
    graph = onnx.load(str(path))
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == \
        'batch'
    for batch in (1, 3):
        x = torch.randn(batch, 3, *shape)
        with torch.no_grad():
            expected = model(x)
        got = run_in_onnxruntime(path, x)
        assert got.shape == expected.shape == (batch, 10)
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert max_abs_diff(model, str(path), (shape[0] + 8, shape[1]), 2) < 1e-4


def test_converted_timm_model_runs_in_onnxruntime(tmp_path):
    timm = pytest.importorskip('timm')
    model = timm.create_model('mobilenetv3_small_050', num_classes=10)
    perturb_gmconv(convert_to_gmconv(model, stem='conv_stem'))
    assert isinstance(model.conv_stem, DGMConv)
    paths = export_onnx(model, str(tmp_path / 'timm.onnx'), shape=(32, 32))
    assert paths == [str(tmp_path / 'timm.onnx')]
    assert [o.name for o in onnx.load(paths[0]).graph.output] == ['output']
    assert_dynamic_batch_matches(model, paths[0], (32, 32))


def test_converted_torchvision_model_runs_in_onnxruntime(tmp_path):
    torchvision = pytest.importorskip('torchvision')
    model = torchvision.models.resnet18(num_classes=10)
    perturb_gmconv(convert_to_gmconv(model, stem='conv1'))
    export_onnx(model, str(tmp_path / 'tv.onnx'), shape=(32, 32), batch=1)
    assert_dynamic_batch_matches(model, tmp_path / 'tv.onnx', (32, 32))


class TwoOutputs(nn.Module):
    """A plain model with a tuple output and 1-channel input."""

    def __init__(self):
        super().__init__()
        self.conv = SGMConv(1, 4, 3, padding=1, sigma_init=1.0)

    def forward(self, x):
        y = self.conv(x)
        return y.mean((2, 3)), [y.amax((2, 3))]


def test_tuple_outputs_and_channels(tmp_path):
    model = TwoOutputs().eval()
    export_onnx(model, str(tmp_path / 'two.onnx'), shape=(1, 9, 9))
    graph = onnx.load(str(tmp_path / 'two.onnx'))
    assert [o.name for o in graph.graph.output] == ['output.0', 'output.1.0']
    assert max_abs_diff(model, str(tmp_path / 'two.onnx'), (1, 12, 7),
                        3) < 1e-5


def test_fixed_size_graph_refuses_other_sizes(tmp_path):
    model = TwoOutputs().eval()
    out = str(tmp_path / 'fixed.onnx')
    export_onnx(model, out, shape=(1, 9, 9), dynamic_size=False)
    dims = onnx.load(out).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ['batch', 1, 9, 9]
    assert max_abs_diff(model, out, (1, 9, 9), 4) < 1e-5
    with pytest.raises(Exception, match='(?i)dimensions|shape'):
        max_abs_diff(model, out, (1, 12, 9), 1)


def test_dict_output_is_a_clear_error(tmp_path):

    class DictOut(nn.Module):

        def forward(self, x):
            return {'out': x}

    with pytest.raises(TypeError, match="output 'output' is a dict"):
        export_onnx(DictOut(), str(tmp_path / 'd.onnx'), shape=(4, 4))
    assert not (tmp_path / 'd.onnx').exists()


def test_existing_file_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / 'm.onnx'
    out.write_bytes(b'keep')
    with pytest.raises(FileExistsError, match=r"m\.onnx.*force=True"):
        export_onnx(TwoOutputs().eval(), str(out), shape=(1, 8, 8))
    assert out.read_bytes() == b'keep'
    assert export_onnx(TwoOutputs().eval(), str(out), shape=(1, 8, 8),
                       force=True) == [str(out)]
    onnx.checker.check_model(onnx.load(str(out)))
    assert os.listdir(tmp_path) == ['m.onnx']  # no temporary file left


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    from mmgmconv import atomic_write
    out = tmp_path / 'm.onnx'
    out.write_bytes(b'keep')

    def crash(partial, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_write, 'sync_and_replace', crash)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(TwoOutputs().eval(), str(out), shape=(1, 8, 8),
                    force=True)
    assert out.read_bytes() == b'keep'
    assert os.listdir(tmp_path) == ['m.onnx']


@pytest.mark.parametrize('umask', [0o022, 0o077])
def test_graphs_get_the_umask_permissions_as_checkpoints_do(tmp_path, umask):
    """Graphs were written 0600 (tempfile.mkstemp) while checkpoints and
    metrics get the umask's permissions (0644 under umask 022)."""
    old = os.umask(umask)
    try:
        export_onnx(TwoOutputs().eval(), str(tmp_path / 'm.onnx'),
                    shape=(1, 8, 8))
        torch.save({}, tmp_path / 'c.pth')
    finally:
        os.umask(old)
    mode = (tmp_path / 'm.onnx').stat().st_mode & 0o777
    assert mode == 0o666 & ~umask
    assert mode == (tmp_path / 'c.pth').stat().st_mode & 0o777


def test_missing_output_folder_is_created(tmp_path):
    out = tmp_path / 'a' / 'b' / 'm.onnx'
    assert export_onnx(TwoOutputs().eval(), str(out),
                       shape=(1, 8, 8)) == [str(out)]


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_weight_is_refused_by_name(tmp_path, value):
    model = TwoOutputs().eval()
    with torch.no_grad():
        model.conv.sigma.fill_(value)
    with pytest.raises(ValueError, match=r'non-finite \(NaN or inf\) '
                       r'weights in the model: conv\.sigma \(1 of 1'):
        export_onnx(model, str(tmp_path / 'm.onnx'), shape=(1, 8, 8))
    assert not (tmp_path / 'm.onnx').exists()


def test_non_finite_buffer_is_refused_by_name(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    model[1].running_var[2] = float('nan')
    with pytest.raises(ValueError, match=r'1\.running_var \(1 of 4'):
        export_onnx(model, str(tmp_path / 'm.onnx'), shape=(8, 8))
    assert not (tmp_path / 'm.onnx').exists()


def test_non_finite_output_is_refused_by_name(tmp_path):

    class LogOfNegative(nn.Module):

        def forward(self, x):
            return x.abs().mean((2, 3)), torch.log(-x.abs() - 1)

    with pytest.raises(ValueError, match=r'non-finite \(NaN or inf\) output '
                       r'on the example input: output\.1 \(96 of 96'):
        export_onnx(LogOfNegative(), str(tmp_path / 'm.onnx'), shape=(4, 4))
    assert not (tmp_path / 'm.onnx').exists()


def nan_graph(path):
    """A graph ``input (B, 2) -> ok = input, logits = log(input)``: NaN
    for negative inputs."""
    graph = helper.make_graph(
        [helper.make_node('Identity', ['input'], ['ok']),
         helper.make_node('Log', ['input'], ['logits'])], 'g',
        [helper.make_tensor_value_info('input', 1, ['batch', 2])], [
            helper.make_tensor_value_info('ok', 1, ['batch', 2]),
            helper.make_tensor_value_info('logits', 1, ['batch', 2])
        ])
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid('', 17)]), str(path))
    return str(path)


def test_onnxruntime_graph_refuses_non_finite_outputs(tmp_path):
    graph = OrtGraph(nan_graph(tmp_path / 'nan.onnx'))
    ok, logits = graph(torch.tensor([[1.0, 2.0]]))
    assert torch.allclose(logits, torch.log(torch.tensor([1.0, 2.0])))
    with pytest.raises(ValueError, match=r"nan\.onnx: non-finite \(NaN or "
                       r"inf\) outputs 'logits' \(1 of 2 values\)"):
        graph(torch.tensor([[1.0, -2.0]]))


@pytest.mark.parametrize('opset', [6, 21, 17.0, True, '17'])
def test_unsupported_opset_is_refused(tmp_path, opset):
    with pytest.raises(ValueError, match=r'opset must be an integer from 7 '
                       r'to 20 .* got ' + repr(opset)):
        export_onnx(TwoOutputs().eval(), str(tmp_path / 'm.onnx'),
                    shape=(1, 8, 8), opset=opset)
    assert not (tmp_path / 'm.onnx').exists()


def test_opset_range_ends_export_and_run(tmp_path):
    constants = pytest.importorskip('torch.onnx._constants')
    assert SUPPORTED_OPSETS == range(
        constants.ONNX_MIN_OPSET,
        constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET + 1)
    model = TwoOutputs().eval()
    for opset in (SUPPORTED_OPSETS[0], SUPPORTED_OPSETS[-1]):
        out = str(tmp_path / f'{opset}.onnx')
        export_onnx(model, out, shape=(1, 8, 8), opset=opset)
        assert onnx.load(out).opset_import[0].version == opset
        assert max_abs_diff(model, out, (1, 8, 10), 3) < 1e-5


def test_layer_an_opset_cannot_express_names_the_opset(tmp_path):

    class StridedSlice(nn.Module):

        def forward(self, x):
            return x[:, :, ::2]

    with pytest.raises(ValueError, match=r'cannot export StridedSlice at '
                       r'opset 9: .*step!=1'):
        export_onnx(StridedSlice(), str(tmp_path / 'm.onnx'), shape=(4, 4),
                    opset=9)
    assert not (tmp_path / 'm.onnx').exists()


@pytest.mark.parametrize('shape, batch', [((8, ), 1), ((1, 8, 8), 0),
                                          ((0, 8), 1), ((8.0, 8), 1)])
def test_bad_shape_or_batch_is_refused(tmp_path, shape, batch):
    with pytest.raises(ValueError, match=r'shape must be \(H, W\) or '
                       r'\(C, H, W\)'):
        export_onnx(TwoOutputs(), str(tmp_path / 'm.onnx'), shape=shape,
                    batch=batch)


def test_example_input_too_large_is_refused_with_its_size(tmp_path):
    # 2 x 3 x 100000 x 100000 float32 values: 224 GiB, refused before
    # torch tries to allocate them
    with pytest.raises(ValueError, match=r'\(2, 3, 100000, 100000\) has '
                       r'60,000,000,000 values \(223\.5 GiB in float32'):
        export_onnx(TwoOutputs(), str(tmp_path / 'm.onnx'),
                    shape=(3, 100000, 100000))
    assert not (tmp_path / 'm.onnx').exists()


def load_tool():
    return import_tool('tools/deploy/export_onnx.py', 'export_onnx_tool')


@pytest.mark.parametrize('argv, message', [
    (['--atol', 'nan'], "--atol: must be a finite number >= 0, got 'nan'"),
    (['--atol', '-0.001'], 'must be a finite number >= 0'),
    (['--atol', 'inf'], 'must be a finite number >= 0'),
    (['--opset', '99'], "--opset: must be an integer from 7 to 20 .* got "
     "'99'"),
    (['--opset', '6'], 'from 7 to 20'),
    (['--shape', '1', '2', '3', '4'], '--shape must be H W or C H W'),
    (['--model-args', 'num_classes'], "expected KEY=VALUE, got "
     "'num_classes'"),
    # issue 30: weights would come from a hub cache read with pickle
    (['--model-args', 'weights=DEFAULT'], r"--model-args \{'weights': "
     r"'DEFAULT'\} would load pretrained weights .* give the state dict .* "
     r'as CHECKPOINT'),
    (['--model-args', 'pretrained=True', 'num_classes=3'],
     r"\{'pretrained': True\} would load pretrained weights"),
    (['--model-args', 'pretrained_cfg_overlay=x', 'weights_backbone=V1'],
     r"'pretrained_cfg_overlay': 'x', 'weights_backbone': 'V1'"),
    (['--shape', '3', '100000', '100000'], r'--batch 2 --shape 3 100000 '
     r'100000: an input of shape \(2, 3, 100000, 100000\) has '
     r'60,000,000,000 values \(223\.5 GiB'),
    # the verification input is larger: batch + 1, sizes + 32
    (['--batch', '600', '--shape', '256', '256', '--verify'],
     r'--verify: an input of shape \(601, 3, 288, 288\)'),
    (['--batch', '0'], '--batch positive'),
    (['--convert', 'stems=conv1', 'sigma=2'], r'--convert sigma, stems: not '
     r'an argument of convert_to_gmconv; allowed: kind, include, exclude, '
     r'stem, dims, sigma_init, reduction'),
])
def test_tool_refuses_bad_options(monkeypatch, capsys, argv, message):
    tool = load_tool()
    monkeypatch.setattr('sys.argv', ['export_onnx.py', 'timm:resnet18',
                                     'out.onnx', *argv])
    with pytest.raises(SystemExit) as exit_info:
        tool.parse_args()
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err), message


@pytest.mark.parametrize('argv, message', [
    (['cfg.py', 'out.onnx'], 'a config needs CHECKPOINT and OUT'),
    (['cfg.py', 'a.pth', 'out.onnx', '--convert'], '--model-args and '
     '--convert are for a model spec'),
    (['timm:resnet18', 'a.pth', 'b.pth', 'out.onnx'], r'expected '
     r'\[CHECKPOINT\] OUT'),
    (['resnet18', 'out.onnx'], 'MODEL must be a config file'),
    (['timm:resnet18', 'out.pth'], 'OUT must end in .onnx'),
])
def test_tool_refuses_bad_positionals(monkeypatch, capsys, argv, message):
    tool = load_tool()
    monkeypatch.setattr('sys.argv', ['export_onnx.py', *argv])
    with pytest.raises(SystemExit):
        tool.parse_args()
    assert re.search(message, capsys.readouterr().err)


def test_tool_takes_weight_args_that_load_nothing_and_sizes_up_to_limit():
    tool = load_tool()
    args = tool.parse_args(['torchvision:resnet18', 'o.onnx', '--model-args',
                            'weights=None', 'pretrained=False', '--batch',
                            '1', '--shape', '2', '8192', '8192'])  # 2**27
    assert args.model_args == dict(weights=None, pretrained=False)


def test_tool_says_how_to_import_a_module_of_the_current_folder(
        tmp_path, monkeypatch, capsys):
    tool = load_tool()
    (tmp_path / 'my_models.py').write_text(
        'import torch\ndef build():\n    return torch.nn.Conv2d(3, 3, 3)\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr('sys.path', [
        p for p in sys.path if os.path.abspath(p or '.') != str(tmp_path)])
    with pytest.raises(SystemExit):
        tool.parse_args(['my_models:build', 'o.onnx'])
    assert re.search(
        r"MODEL 'my_models:build': module 'my_models' is not importable: "
        r'the current folder .* is not on sys.path .* PYTHONPATH=\.',
        capsys.readouterr().err)
    monkeypatch.syspath_prepend(str(tmp_path))
    args = tool.parse_args(['my_models:build', 'o.onnx'])
    assert isinstance(tool.load_model(args), nn.Conv2d)
    with pytest.raises(SystemExit):
        tool.parse_args(['no_such_pkg.models:build', 'o.onnx'])
    assert re.search(r"module 'no_such_pkg.models' is not importable: the "
                     r'current folder .* is on sys.path; or install',
                     capsys.readouterr().err)


def test_tool_refuses_the_checkpoint_or_a_folder_as_out(tmp_path, capsys):
    tool = load_tool()
    out = str(tmp_path / 'm.onnx')
    with pytest.raises(SystemExit):
        tool.parse_args(['torch.nn:Identity', out, out])
    assert 'is the CHECKPOINT' in capsys.readouterr().err
    os.mkdir(out)
    with pytest.raises(SystemExit):
        tool.parse_args(['torch.nn:Identity', out])
    assert 'm.onnx\' is a folder: give the .onnx file' in \
        capsys.readouterr().err


def test_tool_reads_model_spec_arguments(monkeypatch):
    tool = load_tool()
    monkeypatch.setattr('sys.argv', [
        'export_onnx.py', 'timm:mobilenetv3_small_050', 'a.pth', 'o.onnx',
        '--model-args', 'num_classes=10', '--convert', 'stem=conv_stem',
        'sigma_init=2.0', '--shape', '1', '16', '24'
    ])
    args = tool.parse_args()
    assert (args.checkpoint, args.out) == ('a.pth', 'o.onnx')
    assert args.model_args == dict(num_classes=10)
    assert args.convert == dict(stem='conv_stem', sigma_init=2.0)
    assert args.shape == [1, 16, 24]
    monkeypatch.setattr('sys.argv', [
        'export_onnx.py', 'torchvision:resnet18', 'o.onnx', '--convert'])
    args = tool.parse_args()
    assert (args.checkpoint, args.convert) == (None, {})


def test_tool_builds_converts_and_loads_a_model_spec(tmp_path, monkeypatch):
    torchvision = pytest.importorskip('torchvision')
    tool = load_tool()
    plain = torchvision.models.resnet18(num_classes=10)
    torch.save(plain.state_dict(), tmp_path / 'plain.pth')
    converted = convert_to_gmconv(
        torchvision.models.resnet18(num_classes=10), stem='conv1')
    torch.save(dict(state_dict=converted.state_dict()),
               tmp_path / 'converted.pth')

    def args_of(*argv):
        monkeypatch.setattr('sys.argv', ['export_onnx.py', *map(str, argv)])
        return tool.parse_args()

    # MODULE:CALLABLE, with the converted model's checkpoint
    model = tool.load_model(
        args_of('torchvision.models:resnet18', tmp_path / 'converted.pth',
                'o.onnx', '--model-args', 'num_classes=10', '--convert',
                'stem=conv1'))
    assert isinstance(model.conv1, DGMConv) and not model.training
    for name, tensor in converted.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    # the plain model's checkpoint lacks the GMConv parameters
    with pytest.raises(RuntimeError, match=r'(?s)plain\.pth does not match '
                       r'torchvision:resnet18 .*--convert \{.stem.: '
                       r".conv1.\}.*missing keys.*layer1.0.conv1.sigma"):
        tool.load_model(
            args_of('torchvision:resnet18', tmp_path / 'plain.pth', 'o.onnx',
                    '--model-args', 'num_classes=10', '--convert',
                    'stem=conv1'))
    with pytest.raises(ValueError, match="module 'torch.nn' has no callable "
                       "'Nope'"):
        tool.load_model(args_of('torch.nn:Nope', 'o.onnx'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool.load_model(args_of('torch.nn:Identity', 'missing.pth', 'o.onnx'))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_model_on_the_gpu_exports_and_is_compared_on_it(tmp_path):
    model = perturb_gmconv(TwoOutputs()).cuda()
    out = str(tmp_path / 'gpu.onnx')
    export_onnx(model, out, shape=(1, 9, 9))
    assert next(model.parameters()).is_cuda  # the model is not moved
    assert max_abs_diff(model, out, (1, 12, 7), 3) < 1e-4
