# The GMConv of the segmentation configs: mmseg's ResNetV1c-50 D8 backbone
# as GMResNetV1c with the GMConv of ../models/gmresnet_gmconv.py (D-GMConv,
# sigma1 and ratio predicted, in all three convs of the deep stem; S-GMConv
# in layer1-4; the paper's arguments, as the ImageNet and detection
# configs). The Stem L1-L4 configs merge it into their baseline's backbone
# and start it from the ImageNet GMConv ResNet-50:
#   model = dict(backbone=dict(
#       _base_.gmconv_backbone, init_cfg=_base_.resnet50_gmconv_in1k))
# and a stage pattern changes gmconv_stages only.
_base_ = '../models/gmresnet_gmconv.py'
gmconv_backbone = dict(_base_.gmresnet_gmconv, type='GMResNetV1c')
