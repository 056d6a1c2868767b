# The GMConv of a backbone, stated once (configs/README.md, "GMConv base
# files"), in a variable named as the file (so that bases never collide).
# A config lists this file in its _base_ and merges it into its backbone:
#   model = dict(backbone=dict(_base_.cifar_resnet_he_sgmconv, ...))
# and may then change gmconv_stages (a Table V stage pattern) or add
# backbone arguments; the dumped config shows every conv type and argument.
# CIFAR ResNet-20/56 of He et al., S-GMConv in every conv (Table I, Fig. 6).
cifar_resnet_he_sgmconv = dict(
    gmconv_stages=(True, True, True, True),
    gmconv_cfg=dict(
        stem=dict(type='SGMConv', sigma_init=5.0),
        body=dict(type='SGMConv', sigma_init=5.0)))
