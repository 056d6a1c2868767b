# Table V "GMConv-DCN": GMConv in the stem and layer1 (as Stem L1), DCN in
# layer2-4 (as mmdet's dcn/ configs). The DCN layers get the ImageNet
# checkpoint's S-GMConv masks folded into their weights on load.
_base_ = './cascade-rcnn_r50-gmconv-stem-l1_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
