# Table V "Stem L1-L4" (= Table III's GMConv row): D-GMConv stem (sigma1
# and ratio predicted), S-GMConv in layer1-4, the paper's sigma_init of 5.
# The backbone (../_base_/detection/gmconv_r50.py: frozen_stages=1, our
# choice) starts from the ImageNet GMConv ResNet-50
# (../_base_/in1k_checkpoints.py).
_base_ = [
    './faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/detection/gmconv_r50.py'
]
model = dict(
    backbone=dict(
        _base_.gmconv_backbone, init_cfg=_base_.resnet50_gmconv_in1k))
