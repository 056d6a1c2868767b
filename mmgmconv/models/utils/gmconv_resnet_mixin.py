"""Per-part conv configs for any OpenMMLab ResNet (mmdet's, mmpretrain's,
mmseg's)."""
from ...ops.load_hooks import register_load_pre_hook
from ..gmconv_stages import resolve_stage_conv_cfgs
from .deploy import GMConvDeployMixin, deploy_conv_cfg
from .fold_on_load import fold_gmconv_checkpoint
from .gmconv_layout import log_gmconv_layout


class GMConvResNetMixin(GMConvDeployMixin):
    """Gives a ResNet ``gmconv_stages``, ``gmconv_cfg`` and ``deploy``.

    Put it before the ResNet class: ``class X(GMConvResNetMixin, ResNet)``.
    It relies on what mmdet's, mmpretrain's and mmseg's ResNets share: the
    stem (mmseg's deep stem too) is built by ``_make_stem_layer`` from
    ``self.conv_cfg``, and stage ``i`` by
    ``make_res_layer(conv_cfg=...)`` while ``self.res_layers`` holds the
    ``i`` stages built before it. The network is built once, with each part
    getting its own conv config, so parameter names are the ResNet's.

    At build time it logs where GMConv is and which of it ``frozen_stages``
    freezes, with a warning for frozen GMConv layers and for a network
    built without ``gmconv_stages`` or ``conv_cfg`` (no GMConv at all)
    (:func:`~mmgmconv.models.utils.gmconv_layout.log_gmconv_layout`).

    A GMConv checkpoint loaded into it has its S-GMConv masks folded into
    the layers that are plain convs (or DCN) here
    (:func:`~mmgmconv.models.utils.fold_on_load.fold_gmconv_checkpoint`).

    Args:
        gmconv_stages: ``num_stages + 1`` bools for (stem, layer1, ...).
        gmconv_cfg: ``dict(stem=..., body=...)``: the conv config (with
            its ``type``) of the stem and of the GMConv stages; required for
            each part that ``gmconv_stages`` turns on (no default: the
            paper's is ``configs/_base_/models/gmresnet_gmconv.py``).
        deploy: Build every S-GMConv as a plain ``nn.Conv2d`` (the structure
            :func:`~mmgmconv.fuse_gmconv` leaves); D-GMConv stays.
    """

    def __init__(self,
                 *args,
                 gmconv_stages=None,
                 gmconv_cfg=None,
                 conv_cfg=None,
                 num_stages=4,
                 dcn=None,
                 stage_with_dcn=None,
                 deploy=False,
                 **kwargs):
        gmconv_asked = gmconv_stages is not None
        if gmconv_stages is None:
            gmconv_stages = (False, ) * (num_stages + 1)
        stem, stages = resolve_stage_conv_cfgs(
            gmconv_stages, gmconv_cfg, conv_cfg, num_stages,
            stage_with_dcn if dcn is not None else None)
        self._stem_conv_cfg = deploy_conv_cfg(stem, deploy)
        self._stage_conv_cfgs = [deploy_conv_cfg(c, deploy) for c in stages]
        self.gmconv_stages = tuple(gmconv_stages)
        self.deploy = deploy
        if dcn is not None or stage_with_dcn is not None:
            kwargs.update(dcn=dcn, stage_with_dcn=stage_with_dcn)
        super().__init__(
            *args, conv_cfg=conv_cfg, num_stages=num_stages, **kwargs)
        register_load_pre_hook(self, fold_gmconv_checkpoint)
        stem = self.stem if getattr(self, 'deep_stem', False) else self.conv1
        stages = list(self.res_layers)
        log_gmconv_layout(
            self, {
                'stem': stem,
                **{name: getattr(self, name)
                   for name in stages}
            }, ['stem', *stages[:self.frozen_stages]]
            if self.frozen_stages >= 0 else [],
            f'frozen_stages={self.frozen_stages}', gmconv_asked
            or conv_cfg is not None)

    def _make_stem_layer(self, *args, **kwargs):
        body_conv_cfg, self.conv_cfg = self.conv_cfg, self._stem_conv_cfg
        super()._make_stem_layer(*args, **kwargs)
        self.conv_cfg = body_conv_cfg

    def make_res_layer(self, **kwargs):
        kwargs['conv_cfg'] = self._stage_conv_cfgs[len(self.res_layers)]
        return super().make_res_layer(**kwargs)
