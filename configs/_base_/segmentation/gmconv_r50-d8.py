# The GMConv of the segmentation configs, spelled out once: mmseg's
# ResNetV1c-50 D8 backbone as GMResNetV1c with D-GMConv (sigma1 and ratio
# predicted) in all three convs of the deep stem and S-GMConv in layer1-4,
# the paper's arguments (those of the ImageNet and detection configs),
# started from the ImageNet GMConv ResNet-50 of
# configs/classification/imagenet/resnet50-gmconv_8xb32_in1k.py.
# A config merges it into its backbone:
#   model = dict(backbone={{_base_.gmconv_backbone}})
# and a stage pattern changes gmconv_stages only.
gmconv_backbone = dict(
    type='GMResNetV1c',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(
        stem=dict(
            type='DGMConv',
            sigma_init=5.0,
            pred_pattern='sigma1_ratio',
            reduction=4 / 3,
            sigma_range=10.0),
        body=dict(type='SGMConv', sigma_init=5.0)),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/resnet50-gmconv_in1k.pth',
        prefix='backbone.'))
