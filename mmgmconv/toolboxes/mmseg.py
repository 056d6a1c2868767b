"""Registers mmgmconv's mmseg modules: ``GMResNetV1c`` (needs mmseg)."""
from ..models.backbones.seg_resnet import GMResNetV1c

__all__ = ['GMResNetV1c']
