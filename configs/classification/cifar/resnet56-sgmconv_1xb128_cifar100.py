# ResNet-56 on CIFAR100, S-GMConv (S-GMConv everywhere). Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet_he.py', '../../_base_/classification/cifar100.py',
    '../../_base_/classification/schedule_cifar_he.py'
]
model = dict(
    backbone=dict(
        depth=56,
        gmconv_stages=(True, True, True, True),
        gmconv_cfg=dict(
            stem=dict(type='SGMConv', sigma_init=5.0),
            body=dict(type='SGMConv', sigma_init=5.0))),
    head=dict(num_classes=100),
)
