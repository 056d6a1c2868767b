# The GMConv of the Table V detectors: the paper's GMConv ResNet-50
# (../models/gmresnet_gmconv.py: D-GMConv stem, sigma1 and ratio predicted;
# S-GMConv in layer1-4) with mmdet's frozen_stages=1, stated: the stem and
# layer1 (their sigmas and the D-GMConv predictor included) keep the
# ImageNet values and do not train, as in the baseline. Our choice, see
# configs/README.md ("What the detectors train") and
# docs/user_guides/train_test.md ("frozen_stages freezes GMConv too").
# The Stem L1-L4 configs merge it into their baseline's backbone and start it
# from the ImageNet GMConv ResNet-50:
#   model = dict(backbone=dict(
#       _base_.gmconv_backbone, init_cfg=_base_.resnet50_gmconv_in1k))
_base_ = '../models/gmresnet_gmconv.py'
gmconv_backbone = dict(_base_.gmresnet_gmconv, frozen_stages=1)
