# AlexNet on ImageNet, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv body).
# Table II.
_base_ = [
    '../../_base_/models/alexnet_gmconv.py',
    '../../_base_/classification/model_alexnet.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_alexnet.py'
]
model = dict(
    backbone=dict(_base_.alexnet_gmconv))
