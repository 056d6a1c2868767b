# ResNet-18 on CIFAR10, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv
# body). Table I.
_base_ = [
    '../../_base_/models/cifar-resnet18_gmconv.py',
    '../../_base_/classification/model_cifar_resnet18.py',
    '../../_base_/classification/cifar10.py',
    '../../_base_/classification/schedule_cifar_cutout.py'
]
model = dict(
    backbone=dict(_base_.cifar_resnet18_gmconv),
    head=dict(num_classes=10))
