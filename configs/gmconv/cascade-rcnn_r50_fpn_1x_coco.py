# Table V baseline (StdConv), Cascade R-CNN R50-FPN 1x: mmdet's own config
# (batch 16 = 8 GPUs x 2, SGD lr 0.02, momentum 0.9, weight decay 1e-4).
_base_ = [
    'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    '../_base_/gmconv_imports.py'
]
# crash-safe checkpoint writes (mmgmconv/engine/checkpoint_hook.py)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
