# Miniature of Table V "Stem L1-L2": GMConv in the stem to layer2; the plain
# stages get the GMConv checkpoint's masks folded into their weights on load.
_base_ = './faster-rcnn_r50-tiny-gmconv-stem-l1-l4_fpn_shapes.py'
model = dict(backbone=dict(gmconv_stages=(True, True, True, False, False)))
