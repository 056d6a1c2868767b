# ResNet-56 on CIFAR10, StdConv. Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet_he.py',
    '../../_base_/classification/cifar10.py',
    '../../_base_/classification/schedule_cifar_he.py'
]
model = dict(
    backbone=dict(
        depth=56),
    head=dict(num_classes=10),
)
