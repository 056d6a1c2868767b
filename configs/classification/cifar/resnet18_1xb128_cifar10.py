# ResNet-18 on CIFAR10, StdConv. Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet18.py',
    '../../_base_/classification/cifar10.py',
    '../../_base_/classification/schedule_cifar_cutout.py'
]
model = dict(
    head=dict(num_classes=10),
)
