"""What a config builds: a digest that pins its model, and the GMConv
arguments it leaves unstated.

``structure(model)`` lists each module's name and type, each parameter's and
buffer's name and shape, and the GMConv arguments (S-GMConv initial sigma;
D-GMConv prediction pattern, ``sigma_init``, ``sigma_range`` and the shapes
of its predictor's weights; the predictor's own parameter names are left to
the layer's tests). ``DIGESTS`` holds its SHA-256 prefix for every config as
recorded before the configs were rewritten to spell out their conv types;
a config whose model changes fails its build test. After a deliberate model
change, print the new table with
``PYTHONPATH=. python tests/test_configs/model_structure.py`` and paste it here.
"""
import hashlib
import inspect
import math
from pathlib import Path

from torch import nn

from mmgmconv import DGMConv, SGMConv

ROOT = Path(__file__).parents[2]


def structure(model: nn.Module) -> str:
    lines = []
    for name, m in model.named_modules():
        if '.sigma_predictor' in name:
            continue
        lines.append(f'{name}:{type(m).__name__}')
        if isinstance(m, SGMConv) and m.sigma is not None:
            lines.append(f'{name}.sigma={m.sigma.item():.6g}')
        if isinstance(m, DGMConv):
            shapes = [tuple(p.shape) for p in m.sigma_predictor.parameters()
                      if p.dim() == 2]
            lines.append(f'{name}:{m.pred_pattern},{m.sigma_init:.6g},'
                         f'{math.exp(m.log_sigma_range):.6g},{shapes}')
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    lines += [f'{name}:{tuple(t.shape)}' for name, t in tensors
              if '.sigma_predictor.' not in name]
    return '\n'.join(lines)


def digest(model: nn.Module) -> str:
    return hashlib.sha256(structure(model).encode()).hexdigest()[:16]


DIGESTS = {
    'configs/classification/cifar/resnet18-gmconv_1xb128_cifar10.py':
    '875a6fab0e705e18',
    'configs/classification/cifar/resnet18-gmconv_1xb128_cifar100.py':
    '61646108a79faea0',
    'configs/classification/cifar/resnet18-sgmconv_1xb128_cifar10.py':
    '3516cdf4f79ca3ab',
    'configs/classification/cifar/resnet18-sgmconv_1xb128_cifar100.py':
    '0502382de3a53814',
    'configs/classification/cifar/resnet18_1xb128_cifar10.py':
    '49d2f8b726cd174d',
    'configs/classification/cifar/resnet18_1xb128_cifar100.py':
    'cebbe2c830884a8d',
    'configs/classification/cifar/resnet20-gmconv_1xb128_cifar10.py':
    'e0bb3be63585ac47',
    'configs/classification/cifar/resnet20-gmconv_1xb128_cifar100.py':
    'e13e037b9c92b88b',
    'configs/classification/cifar/resnet20-sgmconv_1xb128_cifar10.py':
    'f47d04f7db8f0ee4',
    'configs/classification/cifar/resnet20-sgmconv_1xb128_cifar100.py':
    '3642fdc57230f0e0',
    'configs/classification/cifar/resnet20_1xb128_cifar10.py':
    '83e4b0020d160ddc',
    'configs/classification/cifar/resnet20_1xb128_cifar100.py':
    '9f86389f5252ad08',
    'configs/classification/cifar/resnet56-gmconv_1xb128_cifar10.py':
    'e099f977f15251f1',
    'configs/classification/cifar/resnet56-gmconv_1xb128_cifar100.py':
    'de14582c54b51f94',
    'configs/classification/cifar/resnet56-sgmconv_1xb128_cifar10.py':
    '388d8021f8b2f9a7',
    'configs/classification/cifar/resnet56-sgmconv_1xb128_cifar100.py':
    'fbe1f35f8e779857',
    'configs/classification/cifar/resnet56_1xb128_cifar10.py':
    '064720e29a9844ed',
    'configs/classification/cifar/resnet56_1xb128_cifar100.py':
    '320503f06d5ea675',
    'configs/classification/imagenet/alexnet-gmconv-sigma1-sigma2_8xb32_in1k.py':
    'ba5d7fe5a1a2cf93',
    'configs/classification/imagenet/alexnet-gmconv-sigma_8xb32_in1k.py':
    'd163449ee1974f4e',
    'configs/classification/imagenet/alexnet-gmconv_8xb32_in1k.py':
    '5d77a33788803f5c',
    'configs/classification/imagenet/alexnet-sgmconv_8xb32_in1k.py':
    'da565a468f522831',
    'configs/classification/imagenet/alexnet_8xb32_in1k.py':
    '17738acb3b026bc7',
    'configs/classification/imagenet/mobilenet-v2-gmconv_8xb32_in1k.py':
    'de9f3f604d8a1663',
    'configs/classification/imagenet/mobilenet-v2-sgmconv_8xb32_in1k.py':
    '18eec0cdc33aa846',
    'configs/classification/imagenet/mobilenet-v2_8xb32_in1k.py':
    '73fd18fb2d432cdb',
    'configs/classification/imagenet/resnet18-gmconv-sigma1-sigma2_8xb32_in1k.py':
    'e50b9a4cc6b6f75e',
    'configs/classification/imagenet/resnet18-gmconv-sigma_8xb32_in1k.py':
    '2931519157c77099',
    'configs/classification/imagenet/resnet18-gmconv_8xb32_in1k.py':
    'e65c01db9c6151f9',
    'configs/classification/imagenet/resnet18-sgmconv_8xb32_in1k.py':
    'ae4d7a27ae40a02f',
    'configs/classification/imagenet/resnet18_8xb32_in1k.py':
    '1116f4c2e6746ba6',
    'configs/classification/imagenet/resnet50-gmconv-sigma1-sigma2_8xb32_in1k.py':
    '2eded2677511def4',
    'configs/classification/imagenet/resnet50-gmconv-sigma_8xb32_in1k.py':
    '9cdeae98577c3f2e',
    'configs/classification/imagenet/resnet50-gmconv_8xb32_in1k.py':
    '67ea57b39c5abbbb',
    'configs/classification/imagenet/resnet50-sgmconv_8xb32_in1k.py':
    'a16b8f428c5b6d11',
    'configs/classification/imagenet/resnet50_8xb32_in1k.py':
    '0fc9f2d802c478e1',
    'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py':
    'e9dec85381b35f99',
    'configs/demo/resnet20-gmconv_1xb64_digits.py':
    'e0bb3be63585ac47',
    'configs/gmconv/cascade-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py':
    '5011af9ccc48d95d',
    'configs/gmconv/cascade-rcnn_r50-gmconv-stem-l1-dconv-c3-c5_fpn_1x_coco.py':
    'cb94a943bf095431',
    'configs/gmconv/cascade-rcnn_r50-gmconv-stem-l1-l2_fpn_1x_coco.py':
    'a8ce2e6e2d506adb',
    'configs/gmconv/cascade-rcnn_r50-gmconv-stem-l1-l3_fpn_1x_coco.py':
    'a46cfc13da7f0b40',
    'configs/gmconv/cascade-rcnn_r50-gmconv-stem-l1-l4_fpn_1x_coco.py':
    'f57dd04b9fa0bf3a',
    'configs/gmconv/cascade-rcnn_r50-gmconv-stem-l1_fpn_1x_coco.py':
    'a4a55f190d211395',
    'configs/gmconv/cascade-rcnn_r50_fpn_1x_coco.py':
    '75939331b37e6bad',
    'configs/gmconv/faster-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py':
    '4778d4935510d209',
    'configs/gmconv/faster-rcnn_r50-gmconv-stem-l1-dconv-c3-c5_fpn_1x_coco.py':
    '03e4c3018683c122',
    'configs/gmconv/faster-rcnn_r50-gmconv-stem-l1-l2_fpn_1x_coco.py':
    '7daa69f4ec6b2337',
    'configs/gmconv/faster-rcnn_r50-gmconv-stem-l1-l3_fpn_1x_coco.py':
    '6bddd9c7cf3bef99',
    'configs/gmconv/faster-rcnn_r50-gmconv-stem-l1-l4_fpn_1x_coco.py':
    '95ee6ec1660a86e5',
    'configs/gmconv/faster-rcnn_r50-gmconv-stem-l1_fpn_1x_coco.py':
    '832b8fe0c5fe252b',
    'configs/gmconv/faster-rcnn_r50_fpn_1x_coco.py':
    '6cc7dfc266c3958a',
}


#: Arguments that choose how a layer computes, not what it computes
#: (``DGMConv.impl``: equal paths picked by device and shape): configs leave
#: them to ``'auto'``.
HOW_NOT_WHAT = {'impl'}


def conv_arguments(conv_type: type) -> list:
    """The keyword-only arguments a GMConv type adds to ``nn.Conv2d`` that
    change the model it builds."""
    return [
        p.name for p in inspect.signature(conv_type).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
        and p.name not in HOW_NOT_WHAT
    ]


def unstated_conv_arguments(backbone: dict):
    """``(parts, missing)``: the GMConv conv configs of a backbone config
    (``gmconv_cfg.stem`` / ``.body`` where ``gmconv_stages`` uses them,
    ``stem_conv_cfg`` / ``conv_cfg``) and what they leave to Python
    defaults (no ``type``, or a GMConv argument not spelled out)."""
    parts = {}
    stages = backbone.get('gmconv_stages') or ()
    gmconv_cfg = backbone.get('gmconv_cfg') or {}
    if any(stages[:1]):
        parts['gmconv_cfg.stem'] = gmconv_cfg.get('stem')
    if any(stages[1:]):
        parts['gmconv_cfg.body'] = gmconv_cfg.get('body')
    for key in ('stem_conv_cfg', 'conv_cfg'):
        if backbone.get(key) is not None:
            parts[key] = backbone[key]
    missing = []
    for part, cfg in parts.items():
        if not isinstance(cfg, dict) or 'type' not in cfg:
            missing.append(f'{part}.type')
            continue
        conv_type = {'SGMConv': SGMConv, 'DGMConv': DGMConv}.get(cfg['type'])
        if conv_type is not None:
            missing += [f'{part}.{arg}' for arg in conv_arguments(conv_type)
                        if arg not in cfg]
    return list(parts), missing


def check_config_states_conv_types(path, cfg) -> None:
    """A GMConv config (``gmconv`` in its name) spells out every conv type
    and GMConv argument it uses; a plain one has no GMConv part."""
    parts, missing = unstated_conv_arguments(cfg.model.backbone)
    assert bool(parts) == ('gmconv' in Path(path).stem), (path, parts)
    assert not missing, f'{Path(path).name} leaves {missing} to defaults'


def check_same_model(path, model: nn.Module) -> None:
    """``model`` is what the config at ``path`` built when it was pinned
    (configs added later are not pinned: add them with the command above).
    """
    expected = DIGESTS.get(str(Path(path).relative_to(ROOT)))
    assert expected in (None, digest(model)), (
        f'{path} builds another model than the one pinned in '
        f'tests/test_configs/model_structure.py:\n{structure(model)[:2000]}')


def build_config_model(path):
    """The model of the config at ``path``, built in the config's scope."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmdet')
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg.model)


if __name__ == '__main__':
    for path in sorted(ROOT.glob('configs/**/*.py')):
        if '_base_' not in path.parts:
            print(f"    '{path.relative_to(ROOT)}':\n"
                  f"    '{digest(build_config_model(path))}',")
