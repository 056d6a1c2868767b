# AlexNet on ImageNet, GMConv, D-GMConv predicting sigma1 and sigma2 (Table
# IV).
_base_ = [
    '../../_base_/models/alexnet_gmconv-sigma1-sigma2.py',
    '../../_base_/classification/model_alexnet.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_alexnet.py'
]
model = dict(
    backbone=dict(_base_.alexnet_gmconv_sigma1_sigma2))
