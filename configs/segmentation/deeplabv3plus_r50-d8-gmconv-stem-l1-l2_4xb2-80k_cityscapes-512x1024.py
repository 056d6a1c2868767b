# DeepLabV3+ R50-D8 with GMConv "Stem L1-L2", the best GMConv-only pattern of
# Table V (highest AP with both detectors): the GMConv of Stem L1-L4 in the
# stem, layer1 and layer2; layer3-4 plain (dilated) convs, which get the
# ImageNet checkpoint's S-GMConv masks folded into their weights on load.
_base_ = ('./deeplabv3plus_r50-d8-gmconv-stem-l1-l4_4xb2-80k_'
          'cityscapes-512x1024.py')
model = dict(backbone=dict(gmconv_stages=(True, True, True, False, False)))
