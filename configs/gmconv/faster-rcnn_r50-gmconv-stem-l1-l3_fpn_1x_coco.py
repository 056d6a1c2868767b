# Table V "Stem L1-L3": the GMConv of Stem L1-L4 (D-GMConv stem,
# S-GMConv) in the stem to layer3; layer4 plain convs, which get the
# ImageNet checkpoint's S-GMConv masks folded into their weights on load.
_base_ = './faster-rcnn_r50-gmconv-stem-l1-l4_fpn_1x_coco.py'
model = dict(backbone=dict(gmconv_stages=(True, True, True, True, False)))
