# The GMConv of a backbone, stated once (configs/README.md, "GMConv base
# files"), in a variable named as the file (so that bases never collide).
# A config lists this file in its _base_ and merges it into its backbone:
#   model = dict(backbone=dict(_base_.cifar_resnet_he_gmconv, ...))
# and may then change gmconv_stages (a Table V stage pattern) or add
# backbone arguments; the dumped config shows every conv type and argument.
# CIFAR ResNet-20/56 of He et al. (model_cifar_resnet_he.py: stem and three
# stages), the paper's GMConv (Table I): D-GMConv stem (sigma1 and ratio),
# S-GMConv in layer1-3.
cifar_resnet_he_gmconv = dict(
    gmconv_stages=(True, True, True, True),
    gmconv_cfg=dict(
        stem=dict(
            type='DGMConv',
            sigma_init=5.0,
            pred_pattern='sigma1_ratio',
            reduction=4 / 3,
            sigma_range=10.0),
        body=dict(type='SGMConv', sigma_init=5.0)))
