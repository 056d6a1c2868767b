# Table V "DCN (L2-L4)": deformable conv in layer2-4, no GMConv.
_base_ = [
    'mmdet::dcn/faster-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py',
    '../_base_/toolbox_imports/mmdet.py', '../_base_/in1k_checkpoints.py',
    '../_base_/checkpoint_retention.py'
]
# the last three checkpoints and the best kept
# (../_base_/checkpoint_retention.py)
default_hooks = dict(checkpoint=_base_.checkpoint_retention)
# The backbone starts from the plain ImageNet ResNet-50 trained with this
# repository's recipe (../_base_/in1k_checkpoints.py).
model = dict(backbone=dict(init_cfg=_base_.resnet50_in1k))
