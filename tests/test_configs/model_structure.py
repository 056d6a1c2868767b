"""What a GMConv config must state: every conv type and GMConv argument of
its backbone, so that its dumped config shows the model it builds."""
import inspect
from pathlib import Path

from mmgmconv import DGMConv, SGMConv

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
