# ResNet-50 on ImageNet, pure D-GMConv (D-GMConv, sigma1 and ratio, in
# every conv), the variant of Sec. IV-D that the paper leaves out of Table
# II: "We did not put the results of the pure dynamic GMConv variant, as it
# is difficult to reach convergence and obtain reasonable accuracy." No
# paper number. Our choices (the paper gives no details): every D-GMConv
# takes the stem's arguments of the GMConv configs. The 36 1x1 convs are
# D-GMConv too, which makes them plain convs (a 1x1 kernel has nothing to
# mask, so a D-GMConv there has no sigma predictor): 29.34M parameters,
# 25.56M of ResNet-50 and 3.78M of the predictors (metafile.yml).
_base_ = [
    '../../_base_/models/gmresnet_dgmconv.py',
    'mmpretrain::_base_/models/resnet50.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_step30.py'
]
# zero_init_residual=False: the last BN of each block starts at 1, as in
# He et al. [2] and torchvision's reference recipe (mmpretrain's ResNet
# default is True); see configs/classification/README.md.
model = dict(
    backbone=dict(_base_.gmresnet_dgmconv, zero_init_residual=False))
