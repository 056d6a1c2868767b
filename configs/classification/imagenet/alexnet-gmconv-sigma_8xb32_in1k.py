# AlexNet on ImageNet, GMConv, D-GMConv predicting one sigma (Table IV).
_base_ = [
    '../../_base_/models/alexnet_gmconv-sigma.py',
    '../../_base_/classification/model_alexnet.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_alexnet.py'
]
model = dict(
    backbone=dict(_base_.alexnet_gmconv_sigma))
