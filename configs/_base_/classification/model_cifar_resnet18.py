# CIFAR ResNet-18 (as Cutout): 3x3 stem, four stages, 64-512 channels.
_base_ = 'mmpretrain::_base_/models/resnet18_cifar.py'
model = dict(backbone=dict(type='GMResNet_CIFAR'))
