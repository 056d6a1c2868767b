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
built and converted with the same options), loaded strictly through the
project's checkpoint policy; without it the model keeps its random
initialisation (for trying the export only). A MODEL_ARGS key that loads
weights (weights=, pretrained=, checkpoint_path=, ...: any key naming
weights, pretrained or checkpoint) is refused unless None or False: the
builders of torchvision and timm read their caches with pickle, outside
the policy. To export trained weights, save the state dict of the
converted model (tools/train.py does) and give it as CHECKPOINT.
A MODULE:CALLABLE spec must be importable: Python puts this script's
folder on sys.path, not the current one, so a module of the current
folder needs PYTHONPATH=. (or an installed package).

The example input (BATCH x C x sizes, and with --verify the larger
verification input) may have at most 2**27 values (512 MiB in float32,
our limit: the export runs the model on it); a larger one is refused with
its size before anything is built.

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
import importlib.util
import inspect
import math
import os
import os.path as osp
import re
import sys

from mmengine.config import DictAction
from mmengine.runner import load_checkpoint

from mmgmconv import convert_to_gmconv
from mmgmconv.apis import init_model
from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.deploy import export_onnx
from mmgmconv.deploy.onnx_export import (
    SUPPORTED_OPSETS,
    check_example_size,
)
from mmgmconv.deploy.onnx_verify import max_abs_diff
from mmgmconv.ops.convert import GMCONV_KINDS

#: How a config file's name ends.
CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')
#: ``timm:NAME``, ``torchvision:NAME`` or ``MODULE:CALLABLE``.
MODEL_SPEC = re.compile(r'^(?P<source>[A-Za-z_][\w.]*):(?P<name>[\w.\-]+)$')


#: A model builder argument that loads weights (torchvision's ``weights``
#: and ``weights_backbone``, timm's ``pretrained``, ``pretrained_cfg``,
#: ``checkpoint_path``, ...).
WEIGHT_ARG = re.compile(r'weights|pretrained|checkpoint', re.IGNORECASE)


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


def weight_loading_args(model_args: dict) -> dict:
    """The items of ``model_args`` that would make the builder load
    weights: a key matching :data:`WEIGHT_ARG` whose value is not None or
    False."""
    return {
        key: value
        for key, value in model_args.items()
        if WEIGHT_ARG.search(key) and value is not None and value is not False
    }


def convert_arguments() -> list:
    """What ``--convert`` may set: the arguments of ``convert_to_gmconv``
    a command line can give, and the GMConv layers' keyword arguments."""
    names = [
        name for name in inspect.signature(convert_to_gmconv).parameters
        if name not in ('model', 'predicate', 'gmconv_kwargs')
    ]
    for cls in GMCONV_KINDS.values():
        names += [
            name for name, p in inspect.signature(cls).parameters.items()
            if p.kind is p.KEYWORD_ONLY and name not in names
        ]
    return names


def import_problem(module: str):
    """Why ``module`` of a ``MODULE:CALLABLE`` spec cannot be imported
    (and how to make it importable), or None if it can be found."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        found = False
    if found:
        return None
    cwd = os.getcwd()
    on_path = any(osp.abspath(p or '.') == cwd for p in sys.path)
    where = ('the current folder {} is on sys.path' if on_path else
             'the current folder {} is not on sys.path (Python puts the '
             'script\'s folder there, not the current one): run with '
             'PYTHONPATH=. to import a module of the current folder').format(
                 cwd)
    return (f'module {module!r} is not importable: {where}; or install the '
            f'package that holds it (pip install -e PATH)')


def parse_args(argv=None):
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
    args = parser.parse_args(argv)
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
    if osp.isdir(args.out):
        parser.error(f'OUT {args.out!r} is a folder: give the .onnx file '
                     'to write')
    if args.checkpoint is not None and \
            osp.realpath(args.checkpoint) == osp.realpath(args.out):
        parser.error(f'OUT {args.out!r} is the CHECKPOINT: give another '
                     'OUT')
    unknown = sorted(set(args.convert or {}) - set(convert_arguments()))
    if unknown:
        parser.error(f'--convert {", ".join(unknown)}: not an argument of '
                     f'convert_to_gmconv; allowed: '
                     f'{", ".join(convert_arguments())}')
    loading = weight_loading_args(args.model_args)
    if loading:
        parser.error(
            f'--model-args {loading} would load pretrained weights through '
            f'the model builder (its cache is read with pickle, outside the '
            f'project\'s checkpoint policy); export_onnx loads weights only '
            f'from CHECKPOINT: give the state dict of the model as built and '
            f'converted with these options (e.g. a checkpoint of '
            f'tools/train.py) as CHECKPOINT, and leave out '
            f'{", ".join(loading)}')
    if not args.is_config:
        source = MODEL_SPEC.match(args.model).group('source')
        if source not in ('timm', 'torchvision'):
            problem = import_problem(source)
            if problem:
                parser.error(f'MODEL {args.model!r}: {problem}')
    channels = () if len(args.shape) == dims + 1 else (3, )
    shapes = [(args.batch, *channels, *args.shape)]
    if args.verify:  # the verification input: batch + 1, sizes + 32
        extra = 0 if args.fixed_size else 32
        shapes.append((args.batch + 1, *shapes[0][1:-dims],
                       *(size + extra for size in args.shape[-dims:])))
    for shape in shapes:
        try:
            check_example_size(shape)
        except ValueError as err:
            parser.error(f'--batch {args.batch} --shape '
                         f'{" ".join(map(str, args.shape))}'
                         f'{" --verify" if len(shapes) == 2 else ""}: {err}')
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
