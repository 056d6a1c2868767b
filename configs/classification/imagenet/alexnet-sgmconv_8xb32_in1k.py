# AlexNet on ImageNet, S-GMConv (S-GMConv everywhere). Table II.
_base_ = [
    '../../_base_/models/alexnet_sgmconv.py',
    '../../_base_/classification/model_alexnet.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_alexnet.py'
]
model = dict(
    backbone=dict(_base_.alexnet_sgmconv))
