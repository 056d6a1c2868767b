# Cascade R-CNN, miniature of Table V "GMConv-DCN": GMConv in the stem and
# layer1, DCN in layer2-4, which get the GMConv checkpoint's masks folded in on
# load.
_base_ = './cascade-rcnn_r50-tiny-gmconv-stem-l1_fpn_shapes.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
