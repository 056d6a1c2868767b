# ResNet-18 on ImageNet, StdConv. Table II.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py', '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_step30.py'
]
model = dict(
    backbone=dict(
        type='GMResNet'),
)
