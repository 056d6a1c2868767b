# ResNet-18 on CIFAR10, S-GMConv (S-GMConv everywhere). Table I.
_base_ = [
    '../../_base_/models/cifar-resnet18_sgmconv.py',
    '../../_base_/classification/model_cifar_resnet18.py',
    '../../_base_/classification/cifar10.py',
    '../../_base_/classification/schedule_cifar_cutout.py'
]
model = dict(
    backbone=dict(_base_.cifar_resnet18_sgmconv),
    head=dict(num_classes=10))
