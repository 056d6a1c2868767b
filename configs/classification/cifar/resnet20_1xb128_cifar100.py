# ResNet-20 on CIFAR100, StdConv. Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet_he.py',
    '../../_base_/classification/cifar100.py',
    '../../_base_/classification/schedule_cifar_he.py'
]
model = dict(
    backbone=dict(
        depth=20),
    head=dict(num_classes=100),
)
