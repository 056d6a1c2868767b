# ResNet-18 on CIFAR10, S-GMConv (S-GMConv everywhere). Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet18.py', '../../_base_/classification/cifar10.py',
    '../../_base_/classification/schedule_cifar_cutout.py'
]
model = dict(
    backbone=dict(
        gmconv_stages=(True, True, True, True, True),
        gmconv_cfg=dict(
            stem=dict(type='SGMConv', sigma_init=5.0),
            body=dict(type='SGMConv', sigma_init=5.0))),
    head=dict(num_classes=10),
)
