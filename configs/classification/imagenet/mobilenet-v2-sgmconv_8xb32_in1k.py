# MobileNetV2 on ImageNet, S-GMConv (S-GMConv everywhere). Table II.
_base_ = [
    '../../_base_/models/mobilenet-v2_sgmconv.py',
    'mmpretrain::_base_/models/mobilenet_v2_1x.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_mobilenet.py'
]
model = dict(
    backbone=dict(_base_.mobilenet_v2_sgmconv))
