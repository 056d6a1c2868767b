# MobileNetV2 on ImageNet, StdConv. Table II.
_base_ = [
    'mmpretrain::_base_/models/mobilenet_v2_1x.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_mobilenet.py'
]
model = dict(
    backbone=dict(
        type='GMMobileNetV2'),
)
