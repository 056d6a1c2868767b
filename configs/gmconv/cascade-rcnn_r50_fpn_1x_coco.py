# Table V baseline (StdConv), Cascade R-CNN R50-FPN 1x: mmdet's own config
# (batch 16 = 8 GPUs x 2, SGD lr 0.02, momentum 0.9, weight decay 1e-4).
_base_ = [
    'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    '../_base_/toolbox_imports/mmdet.py', '../_base_/in1k_checkpoints.py',
    '../_base_/checkpoint_retention.py'
]
# the last three checkpoints and the best kept
# (../_base_/checkpoint_retention.py)
default_hooks = dict(checkpoint=_base_.checkpoint_retention)
# The backbone starts from the plain ImageNet ResNet-50 trained with this
# repository's recipe (../_base_/in1k_checkpoints.py).
model = dict(backbone=dict(init_cfg=_base_.resnet50_in1k))
