from .cls_resnet import ClsGMResNet, GMResNet_CIFAR
from .gm_alexnet import GMAlexNet
from .gm_mobilenet_v2 import GMMobileNetV2
from .gm_resnet import GMResNet

__all__ = [
    'GMResNet', 'ClsGMResNet', 'GMResNet_CIFAR', 'GMAlexNet',
    'GMMobileNetV2'
]
