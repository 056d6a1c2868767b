from .gm_resnet import GMResNet

__all__ = ['GMResNet']
