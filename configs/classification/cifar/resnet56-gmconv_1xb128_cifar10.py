# ResNet-56 on CIFAR10, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv
# body). Table I.
_base_ = [
    '../../_base_/models/cifar-resnet-he_gmconv.py',
    '../../_base_/classification/model_cifar_resnet_he.py',
    '../../_base_/classification/cifar10.py',
    '../../_base_/classification/schedule_cifar_he.py'
]
model = dict(
    backbone=dict(_base_.cifar_resnet_he_gmconv, depth=56),
    head=dict(num_classes=10))
