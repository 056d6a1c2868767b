# The GMConv of a backbone, stated once (configs/README.md, "GMConv base
# files"), in a variable named as the file (so that bases never collide).
# A config lists this file in its _base_ and merges it into its backbone:
#   model = dict(backbone=dict(_base_.gmresnet_gmconv_sigma, ...))
# and may then change gmconv_stages (a Table V stage pattern) or add
# backbone arguments; the dumped config shows every conv type and argument.
# ResNet, Table II ablation: D-GMConv stem predicting sigma only, S-GMConv in
# layer1-4.
gmresnet_gmconv_sigma = dict(
    type='GMResNet',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(
        stem=dict(
            type='DGMConv',
            sigma_init=5.0,
            pred_pattern='sigma',
            reduction=4 / 3,
            sigma_range=10.0),
        body=dict(type='SGMConv', sigma_init=5.0)))
