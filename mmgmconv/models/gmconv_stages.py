"""Resolve ``gmconv_stages`` / ``gmconv_cfg`` into one conv config per part.

A GMConv ResNet has five parts: the stem and ``layer1`` .. ``layer4``.
``gmconv_stages`` says which parts use GMConv, ``gmconv_cfg`` which GMConv:
its ``stem`` config for the stem, its ``body`` config for every GMConv stage.
There is no default GMConv: the paper's (D-GMConv stem, S-GMConv body) is
stated once in ``configs/_base_/models/gmresnet_gmconv.py``, so a config's
dump shows every conv type and argument it builds.
"""
from typing import List, Optional, Sequence, Tuple

from .utils.conv_cfg import check_conv_cfg


def resolve_stage_conv_cfgs(
        gmconv_stages: Sequence[bool],
        gmconv_cfg: Optional[dict],
        conv_cfg: Optional[dict],
        num_stages: int,
        stage_with_dcn: Optional[Sequence[bool]] = None
) -> Tuple[Optional[dict], List[Optional[dict]]]:
    """Conv configs for the stem and for each of the ``num_stages`` stages.

    Args:
        gmconv_stages: ``num_stages + 1`` bools: stem, layer1, layer2, ...
        gmconv_cfg: ``dict(stem=..., body=...)``: the conv config (with its
            ``type``) of the stem and of the stages where ``gmconv_stages``
            asks for GMConv; a part that no stage uses may be left out.
            ``None``: no GMConv config (every stage must be off).
        conv_cfg: The conv used where GMConv is off (``None``: ``nn.Conv2d``).
        num_stages: Number of residual stages.
        stage_with_dcn: Stages that use DCN (``None``: none). A stage cannot
            use both GMConv and DCN.

    Returns:
        ``(stem_cfg, [stage_cfg, ...])``.
    """
    parts = ('stem', ) + tuple(f'layer{i + 1}' for i in range(num_stages))
    if (isinstance(gmconv_stages, (str, bytes))
            or not isinstance(gmconv_stages, Sequence)
            or len(gmconv_stages) != len(parts)
            or not all(isinstance(s, bool) for s in gmconv_stages)):
        raise ValueError(
            f'gmconv_stages must be {len(parts)} booleans for '
            f'({", ".join(parts)}), got {gmconv_stages!r}')
    gmconv_cfg = {} if gmconv_cfg is None else gmconv_cfg
    if not isinstance(gmconv_cfg, dict) or set(gmconv_cfg) - {'stem', 'body'}:
        raise ValueError(f'gmconv_cfg must be a dict with keys "stem" and/or '
                         f'"body", got {gmconv_cfg!r}')
    used = [part for part, on in (('stem', any(gmconv_stages[:1])),
                                  ('body', any(gmconv_stages[1:]))) if on]
    for part in used:
        if part not in gmconv_cfg or gmconv_cfg[part] is None:
            raise ValueError(
                f'gmconv_stages={tuple(gmconv_stages)} puts GMConv in the '
                f'{part} but gmconv_cfg has no "{part}" conv config (got '
                f'gmconv_cfg={gmconv_cfg!r}); state it, e.g. by merging '
                'configs/_base_/models/gmresnet_gmconv.py')
    for part in gmconv_cfg:
        check_conv_cfg(gmconv_cfg[part], f'gmconv_cfg["{part}"]')
    check_conv_cfg(conv_cfg, 'conv_cfg')
    if stage_with_dcn is None:
        stage_with_dcn = (False, ) * num_stages
    elif (isinstance(stage_with_dcn, (str, bytes))
          or not isinstance(stage_with_dcn, Sequence)
          or len(stage_with_dcn) != num_stages):
        raise ValueError(
            f'stage_with_dcn must be {num_stages} booleans for '
            f'({", ".join(parts[1:])}), got {stage_with_dcn!r}')
    dcn = tuple(stage_with_dcn)
    both = [
        parts[i + 1] for i in range(num_stages)
        if gmconv_stages[i + 1] and dcn[i]
    ]
    if both:
        raise ValueError(
            f'{", ".join(both)} asked for both GMConv (gmconv_stages='
            f'{tuple(gmconv_stages)}) and DCN (stage_with_dcn={dcn}); a stage '
            'uses one or the other. Table V\'s GMConv-DCN puts GMConv in the '
            'stem and layer1 and DCN in layer2-4.')
    stem = gmconv_cfg['stem'] if gmconv_stages[0] else conv_cfg
    stages = [
        gmconv_cfg['body'] if on else conv_cfg for on in gmconv_stages[1:]
    ]
    return stem, stages
