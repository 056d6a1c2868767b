# MobileNetV2 on ImageNet, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv body). Table II.
_base_ = [
    'mmpretrain::_base_/models/mobilenet_v2_1x.py', '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_mobilenet.py'
]
model = dict(
    backbone=dict(
        type='GMMobileNetV2',
        stem_conv_cfg=dict(
            type='DGMConv',
            sigma_init=5.0,
            pred_pattern='sigma1_ratio',
            reduction=4 / 3,
            sigma_range=10.0),
        conv_cfg=dict(type='SGMConv', sigma_init=5.0)),
)
