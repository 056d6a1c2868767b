# Cascade R-CNN, miniature of Table V "Stem L1-L4": GMConv in the stem and
# layer1-4, started from the GMConv backbone pretrained by ./resnet50-tiny-
# gmconv_digits.py.
_base_ = [
    './cascade-rcnn_r50-tiny_fpn_shapes.py',
    '../_base_/models/gmresnet_gmconv.py'
]
model = dict(
    backbone=dict(
        _base_.gmresnet_gmconv,
        init_cfg=dict(
            checkpoint='work_dirs/repro-mini/checkpoints/'
            'resnet50-tiny-gmconv_digits.pth')))
