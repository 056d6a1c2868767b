# Table V baseline (StdConv), Faster R-CNN R50-FPN 1x: mmdet's own config
# (batch 16 = 8 GPUs x 2, SGD lr 0.02, momentum 0.9, weight decay 1e-4).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/gmconv_imports.py'
]
# crash-safe checkpoint writes (mmgmconv/engine/checkpoint_hook.py)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
# The backbone: the plain ResNet-50 trained on ImageNet with this
# repository's recipe (configs/classification/imagenet/resnet50_8xb32_in1k.py),
# as the GMConv rows start from the GMConv ResNet-50 trained with the same
# recipe. The paper plugs in "the backbones we previously trained on
# ImageNet"; mmdet's config would load torchvision://resnet50, trained with
# another recipe. (configs/README.md, "Reproducing Table V".)
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_in1k.pth',
            prefix='backbone.')))
