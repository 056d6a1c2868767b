# MobileNetV2 on ImageNet, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv
# body). Table II.
_base_ = [
    '../../_base_/models/mobilenet-v2_gmconv.py',
    'mmpretrain::_base_/models/mobilenet_v2_1x.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_mobilenet.py'
]
model = dict(
    backbone=dict(_base_.mobilenet_v2_gmconv))
