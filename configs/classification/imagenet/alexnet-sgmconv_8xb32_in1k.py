# AlexNet on ImageNet, S-GMConv (S-GMConv everywhere). Table II.
_base_ = [
    '../../_base_/classification/model_alexnet.py', '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_alexnet.py'
]
model = dict(
    backbone=dict(
        stem_conv_cfg=dict(type='SGMConv', sigma_init=5.0),
        conv_cfg=dict(type='SGMConv', sigma_init=5.0)),
)
