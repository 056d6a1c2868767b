# The GMConv of the segmentation configs: mmseg's ResNetV1c-50 D8 backbone
# as GMResNetV1c with the GMConv of ../models/gmresnet_gmconv.py (D-GMConv,
# sigma1 and ratio predicted, in all three convs of the deep stem; S-GMConv
# in layer1-4; the paper's arguments, as the ImageNet and detection
# configs), started from the ImageNet GMConv ResNet-50 of
# configs/classification/imagenet/resnet50-gmconv_8xb32_in1k.py.
# A config merges it into its backbone:
#   model = dict(backbone={{_base_.gmconv_backbone}})
# and a stage pattern changes gmconv_stages only.
_base_ = '../models/gmresnet_gmconv.py'
gmconv_backbone = dict(
    _base_.gmresnet_gmconv,
    type='GMResNetV1c',
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/resnet50-gmconv_in1k.pth',
        prefix='backbone.'))
