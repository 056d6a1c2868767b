# ResNet-20 on CIFAR100, S-GMConv (S-GMConv everywhere). Table I.
_base_ = [
    '../../_base_/models/cifar-resnet-he_sgmconv.py',
    '../../_base_/classification/model_cifar_resnet_he.py',
    '../../_base_/classification/cifar100.py',
    '../../_base_/classification/schedule_cifar_he.py'
]
model = dict(
    backbone=dict(_base_.cifar_resnet_he_sgmconv, depth=20),
    head=dict(num_classes=100))
