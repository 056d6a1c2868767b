# The GMConv of a backbone, stated once (configs/README.md, "GMConv base
# files"), in a variable named as the file (so that bases never collide).
# A config lists this file in its _base_ and merges it into its backbone:
#   model = dict(backbone=dict(_base_.mobilenet_v2_sgmconv, ...))
# and may then change gmconv_stages (a Table V stage pattern) or add
# backbone arguments; the dumped config shows every conv type and argument.
# MobileNetV2, S-GMConv in every conv (Table II).
mobilenet_v2_sgmconv = dict(
    type='GMMobileNetV2',
    stem_conv_cfg=dict(type='SGMConv', sigma_init=5.0),
    conv_cfg=dict(type='SGMConv', sigma_init=5.0))
