# Cascade R-CNN, miniature of Table V "Stem L1": GMConv in the stem to layer1;
# the plain stages get the GMConv checkpoint's masks folded into their weights
# on load.
_base_ = './cascade-rcnn_r50-tiny-gmconv-stem-l1-l4_fpn_shapes.py'
model = dict(backbone=dict(gmconv_stages=(True, True, False, False, False)))
