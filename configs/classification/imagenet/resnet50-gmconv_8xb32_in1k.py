# ResNet-50 on ImageNet, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv body). Table II.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py', '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_step30.py'
]
model = dict(
    backbone=dict(
        type='GMResNet',
        gmconv_stages=(True, True, True, True, True)),
)
