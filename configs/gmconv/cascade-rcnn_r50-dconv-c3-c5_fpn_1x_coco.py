# Table V "DCN (L2-L4)": deformable conv in layer2-4, no GMConv.
_base_ = [
    'mmdet::dcn/cascade-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py',
    '../_base_/gmconv_imports.py'
]
# crash-safe checkpoint writes (mmgmconv/engine/checkpoint_hook.py)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
