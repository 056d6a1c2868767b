"""Registers mmgmconv's mmpretrain modules (needs mmpretrain): the
backbones ``GMResNet`` (``ClsGMResNet``), ``GMResNet_CIFAR``,
``GMAlexNet``, ``GMMobileNetV2`` and the ``SklearnDigits`` dataset."""
from ..datasets.digits import SklearnDigits
from ..models.backbones.cls_resnet import ClsGMResNet, GMResNet_CIFAR
from ..models.backbones.gm_alexnet import GMAlexNet
from ..models.backbones.gm_mobilenet_v2 import GMMobileNetV2

__all__ = [
    'ClsGMResNet', 'GMResNet_CIFAR', 'GMAlexNet', 'GMMobileNetV2',
    'SklearnDigits'
]
