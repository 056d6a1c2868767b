# DeepLabV3+ R50-D8 with GMConv "Stem L1-L4": D-GMConv in the deep stem,
# S-GMConv in layer1-4 (configs/_base_/segmentation/gmconv_r50-d8.py),
# started from the ImageNet GMConv ResNet-50. Otherwise the baseline.
_base_ = [
    './deeplabv3plus_r50-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/segmentation/gmconv_r50-d8.py'
]
model = dict(
    backbone=dict(
        _base_.gmconv_backbone, init_cfg=_base_.resnet50_gmconv_in1k))
