# ResNet-18 on CIFAR100, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv body). Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet18.py', '../../_base_/classification/cifar100.py',
    '../../_base_/classification/schedule_cifar_cutout.py'
]
model = dict(
    backbone=dict(
        gmconv_stages=(True, True, True, True, True)),
    head=dict(num_classes=100),
)
