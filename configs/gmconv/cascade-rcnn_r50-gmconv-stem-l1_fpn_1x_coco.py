# Table V "Stem L1": D-GMConv stem, S-GMConv in the listed body layers.
# The backbone starts from the ImageNet GMConv ResNet-50 (see README.md).
_base_ = './cascade-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        type='GMResNet',
        gmconv_stages=(True, True, False, False, False),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50-gmconv_in1k.pth',
            prefix='backbone.')))
