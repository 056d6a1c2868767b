"""Registers mmgmconv's mmdet modules: ``GMResNet`` (needs mmdet)."""
from ..models.backbones.gm_resnet import GMResNet

__all__ = ['GMResNet']
