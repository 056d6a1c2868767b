# Table V "Stem L1-L4" (= Table III's GMConv row): D-GMConv stem (sigma1
# and ratio predicted), S-GMConv in layer1-4, the paper's sigma_init of 5.
# The backbone starts from the ImageNet GMConv ResNet-50 (configs/README.md,
# "Reproducing Table V").
_base_ = [
    './faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/models/gmresnet_gmconv.py'
]
model = dict(
    backbone=dict(
        _base_.gmresnet_gmconv,
        # mmdet's value, stated: the stem and layer1 (their sigmas and the
        # D-GMConv predictor included) keep the ImageNet values and do not
        # train, as in the baseline; our choice, see
        # docs/user_guides/train_test.md ("frozen_stages freezes GMConv too").
        frozen_stages=1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50-gmconv_in1k.pth',
            prefix='backbone.')))
