"""Export a GMConv model to ONNX (standard operators only).

An OpenMMLab config and its checkpoint:

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT OUT.onnx

A plain PyTorch model (timm, torchvision or your own builder), made GMConv
by convert_to_gmconv with the --convert arguments:

    python tools/deploy/export_onnx.py timm:NAME [CHECKPOINT] OUT.onnx \
        --convert stem=conv_stem [--model-args num_classes=10]
    python tools/deploy/export_onnx.py torchvision:NAME [CHECKPOINT] OUT.onnx
    python tools/deploy/export_onnx.py my_package.models:build [CHECKPOINT] ...

A 1D or 3D model (``--spatial-dims``; ``--shape`` then gives the length
or the clip size), e.g. torchvision's video ResNet:

    python tools/deploy/export_onnx.py torchvision:r3d_18 OUT.onnx \
        --convert stem=stem.0 --spatial-dims 3 --shape 3 8 112 112

MODEL is a config file (a .py, .json, .yaml or .yml path; then CHECKPOINT
is required) or a model spec: ``timm:NAME`` (timm.create_model(NAME,
**MODEL_ARGS)), ``torchvision:NAME`` (torchvision.models.get_model(NAME,
**MODEL_ARGS), weights=None unless given) or ``MODULE:CALLABLE`` (an
importable function or class called with MODEL_ARGS that returns the
nn.Module). No pretrained weights are downloaded: the weights come from
CHECKPOINT (a state dict, or a dict with 'state_dict', of the model as
built and converted with the same options), loaded strictly; without it
the model keeps its random initialisation (for trying the export only).

Every S-GMConv is folded into a plain conv, then the model is exported by
the TorchScript exporter with a dynamic batch and, unless --fixed-size, a
dynamic height and width. A plain model or a classifier becomes one graph.
A detector becomes the dense graph OUT.onnx (normalised padded image ->
neck features and the RPN / dense head's raw outputs) and, for two-stage
detectors, one graph per RoI box head (OUT.roi_head.bbox_head.onnx: RoI
features -> class scores and box deltas); anchors, decoding, NMS and
RoIAlign are left to mmdet's code (tools/deploy/onnx_test.py).

Checked before anything is written: the weights and the outputs on the
example input are finite, the graphs pass onnx.checker and use standard
operators only, and no file at the paths to write exists (--force replaces
them). Each file written is printed. --verify then runs onnxruntime at
batch BATCH+1 (and each spatial size +32 unless --fixed-size) and fails if the
largest absolute difference to the PyTorch model (before folding) exceeds
--atol.
"""
import argparse
import importlib
import math
import os.path as osp
import re
import sys

from mmengine.config import DictAction
from mmengine.runner import load_checkpoint

from mmgmconv import convert_to_gmconv
from mmgmconv.apis import init_model
from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.deploy import export_onnx
from mmgmconv.deploy.onnx_export import SUPPORTED_OPSETS
from mmgmconv.deploy.onnx_verify import max_abs_diff

#: How a config file's name ends.
CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')
#: ``timm:NAME``, ``torchvision:NAME`` or ``MODULE:CALLABLE``.
MODEL_SPEC = re.compile(r'^(?P<source>[A-Za-z_][\w.]*):(?P<name>[\w.\-]+)$')


def key_value(text: str) -> str:
    """An argparse type: ``KEY=VALUE`` as mmengine's ``DictAction`` reads
    it."""
    if '=' not in text or text.startswith('='):
        raise argparse.ArgumentTypeError(f'expected KEY=VALUE, got {text!r}')
    return text


def tolerance(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f'must be a finite number >= 0, got {text!r}')
    return value


def opset_version(text: str) -> int:
    """An argparse type: an opset in ``SUPPORTED_OPSETS``."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value not in SUPPORTED_OPSETS:
        raise argparse.ArgumentTypeError(
            f'must be an integer from {SUPPORTED_OPSETS.start} to '
            f'{SUPPORTED_OPSETS.stop - 1} (the versions the TorchScript '
            f'exporter of torch writes), got {text!r}')
    return value


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter,
        usage='%(prog)s MODEL [CHECKPOINT] OUT [options]')
    parser.add_argument(
        'model', help='config file, or timm:NAME, torchvision:NAME, '
        'MODULE:CALLABLE')
    parser.add_argument('files', nargs='+', metavar='[CHECKPOINT] OUT',
                        help='checkpoint (required for a config) and the '
                        '.onnx file to write')
    parser.add_argument('--model-args', nargs='+', type=key_value,
                        action=DictAction, default={}, metavar='KEY=VALUE',
                        help='keyword arguments of the model builder of a '
                        'model spec, e.g. num_classes=10')
    parser.add_argument('--convert', nargs='*', type=key_value,
                        action=DictAction, metavar='KEY=VALUE',
                        help='make a model spec GMConv with '
                        'convert_to_gmconv(model, **KEY=VALUE), e.g. '
                        '--convert stem=conv_stem (none: the defaults)')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        metavar='[C] H W',
                        help='example input size: H W (3 channels) or '
                        'C H W (default 224 224); with --spatial-dims 1: '
                        '[C] L, 3: [C] T H W')
    parser.add_argument('--spatial-dims', type=int, choices=(1, 2, 3),
                        default=2,
                        help='1 for a sequence model (Conv1d), 3 for a '
                        'video or volume model (Conv3d); a model spec only '
                        '(default 2)')
    parser.add_argument('--batch', type=int, default=2,
                        help='example batch size (default 2)')
    parser.add_argument('--opset', type=opset_version, default=17,
                        help=f'ONNX opset version, '
                        f'{SUPPORTED_OPSETS.start} to '
                        f'{SUPPORTED_OPSETS.stop - 1} (default 17)')
    parser.add_argument('--fixed-size', action='store_true',
                        help='export height and width as fixed, not '
                        'dynamic (models that work at one size only)')
    parser.add_argument('--force', action='store_true',
                        help='replace existing files at the paths written')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch at batch '
                        'BATCH+1 and size (H+32, W+32)')
    parser.add_argument('--atol', type=tolerance, default=1e-3,
                        help='--verify fails above this difference '
                        '(default 1e-3)')
    args = parser.parse_args()
    dims = args.spatial_dims
    if len(args.shape) not in (dims, dims + 1) or min(args.shape) < 1 or \
            args.batch < 1:
        spatial = {1: 'L', 2: 'H W', 3: 'T H W'}[dims]
        parser.error(f'--shape must be {spatial} or C {spatial} of positive '
                     f'integers and --batch positive, got {args.shape} and '
                     f'{args.batch}')
    args.is_config = args.model.endswith(CONFIG_SUFFIXES)
    if not args.is_config and not MODEL_SPEC.match(args.model):
        parser.error(f'MODEL must be a config file (ending in '
                     f'{", ".join(CONFIG_SUFFIXES)}) or timm:NAME, '
                     f'torchvision:NAME or MODULE:CALLABLE, got '
                     f'{args.model!r}')
    if args.is_config:
        if len(args.files) != 2:
            parser.error(f'a config needs CHECKPOINT and OUT, got '
                         f'{args.files}')
        if args.model_args or args.convert is not None:
            parser.error('--model-args and --convert are for a model spec; '
                         'a config sets up its model itself')
        if dims != 2:
            parser.error(f'--spatial-dims {dims} is for a model spec; a '
                         f'config exports with 2D images')
    elif len(args.files) > 2:
        parser.error(f'expected [CHECKPOINT] OUT after the model spec, got '
                     f'{args.files}')
    args.checkpoint = args.files[0] if len(args.files) == 2 else None
    args.out = args.files[-1]
    if not args.out.endswith('.onnx'):
        parser.error(f'OUT must end in .onnx, got {args.out!r}')
    return args


def build_plain_model(spec: str, model_args: dict):
    """The ``nn.Module`` a model spec names, built with ``model_args``."""
    source, name = MODEL_SPEC.match(spec).group('source', 'name')
    if source == 'timm':
        import timm
        return timm.create_model(name, **model_args)
    if source == 'torchvision':
        import torchvision
        return torchvision.models.get_model(name, **model_args)
    builder = getattr(importlib.import_module(source), name, None)
    if not callable(builder):
        raise ValueError(f'{spec!r}: module {source!r} has no callable '
                         f'{name!r}')
    return builder(**model_args)


def load_model(args):
    """The model to export (eval mode) from the parsed arguments."""
    if args.is_config:
        return init_model(args.model, args.checkpoint)[0]
    model = build_plain_model(args.model, args.model_args)
    if args.convert is not None:
        model = convert_to_gmconv(model, **args.convert)
    if args.checkpoint is not None:
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(
                f'checkpoint {args.checkpoint!r} not found')
        try:
            load_checkpoint(model, args.checkpoint, map_location='cpu',
                            strict=True)
        except RuntimeError as err:
            raise RuntimeError(
                f'checkpoint {args.checkpoint} does not match {args.model} '
                f'built with --model-args {args.model_args} and --convert '
                f'{args.convert} (the state dict of that model is '
                f'expected):\n{err}') from None
    return model.eval()


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    model = load_model(args)
    shape = tuple(args.shape)
    try:
        paths = export_onnx(model, args.out, shape=shape, batch=args.batch,
                            opset=args.opset, force=args.force,
                            dynamic_size=not args.fixed_size,
                            spatial_dims=args.spatial_dims)
    except FileExistsError as err:
        sys.exit(f'error: {err}')
    for path in paths:
        print(f'wrote {path}')
    if args.verify:
        batch = args.batch + 1
        dims = args.spatial_dims
        if not args.fixed_size:
            shape = shape[:-dims] + tuple(size + 32 for size in shape[-dims:])
        diff = max_abs_diff(model, args.out, shape, batch, dims)
        size = 'x'.join(map(str, shape[-dims:]))
        print(f'onnxruntime vs PyTorch at batch {batch}, {size}: max abs '
              f'difference {diff:.3g}')
        if not diff <= args.atol:
            sys.exit(f'max abs difference {diff:.3g} exceeds --atol '
                     f'{args.atol:g}')


if __name__ == '__main__':
    main()
