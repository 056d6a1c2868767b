# Cascade R-CNN, miniature of Table V "DCN (L2-L4)": DCN in layer2-4, started
# from the plain pretrained backbone (DCN offsets start at zero).
_base_ = './cascade-rcnn_r50-tiny_fpn_shapes.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
