# ResNet-20 on CIFAR100, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv body). Table I.
_base_ = [
    '../../_base_/classification/model_cifar_resnet_he.py', '../../_base_/classification/cifar100.py',
    '../../_base_/classification/schedule_cifar_he.py'
]
model = dict(
    backbone=dict(
        depth=20,
        gmconv_stages=(True, True, True, True),
        gmconv_cfg=dict(
            stem=dict(
                type='DGMConv',
                sigma_init=5.0,
                pred_pattern='sigma1_ratio',
                reduction=4 / 3,
                sigma_range=10.0),
            body=dict(type='SGMConv', sigma_init=5.0))),
    head=dict(num_classes=100),
)
