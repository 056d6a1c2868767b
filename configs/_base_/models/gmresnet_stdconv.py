# The StdConv baselines of the GMConv ResNets: GMResNet with no GMConv part,
# stated, so that only a GMConv ResNet built without gmconv_stages (a
# mistake) logs the "no GMConv was asked for" warning. A config merges it
# into its backbone:
#   model = dict(backbone=dict(_base_.gmresnet_stdconv, ...))
gmresnet_stdconv = dict(
    type='GMResNet', gmconv_stages=(False, False, False, False, False))
