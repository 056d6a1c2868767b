"""``deploy=True`` for GMConv backbones, in the style of mmpretrain's RepVGG.

After training every S-GMConv is a plain conv with the mask folded in
(:func:`mmgmconv.fuse_gmconv`, ``tools/fuse_gmconv.py``). A backbone built
with ``deploy=True`` has exactly that structure, so a fused checkpoint loads
strictly into the training config plus ``model.backbone.deploy=True``.
D-GMConv stays: its mask depends on the input.
"""
import inspect
from typing import Optional

from mmengine.registry import MODELS
from torch import nn

from ...ops import SGMConv, fuse_gmconv


def deploy_conv_cfg(cfg: Optional[dict], deploy: bool) -> Optional[dict]:
    """``cfg``, or ``dict(type='FoldedConv2d')`` (a plain ``nn.Conv2d``
    marked as holding a folded mask, as :func:`fuse_gmconv` leaves it) for
    an S-GMConv when ``deploy``."""
    if not deploy or cfg is None:
        return cfg
    conv_type = cfg['type']
    if not inspect.isclass(conv_type):
        with MODELS.switch_scope_and_registry(None) as registry:
            conv_type = registry.get(conv_type)
    return dict(type='FoldedConv2d') if conv_type is SGMConv else cfg


class GMConvDeployMixin:
    """``switch_to_deploy()`` for a backbone with a ``deploy`` attribute."""

    def switch_to_deploy(self: nn.Module) -> None:
        """Fold every S-GMConv into a plain conv in place, giving the
        structure ``deploy=True`` builds (as RepVGG's method does)."""
        fuse_gmconv(self)
        self.deploy = True
