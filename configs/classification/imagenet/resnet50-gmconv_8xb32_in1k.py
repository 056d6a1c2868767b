# ResNet-50 on ImageNet, GMConv (D-GMConv stem, sigma1 and ratio; S-GMConv
# body). Table II.
_base_ = [
    '../../_base_/models/gmresnet_gmconv.py',
    'mmpretrain::_base_/models/resnet50.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_step30.py'
]
# zero_init_residual=False: the last BN of each block starts at 1, as in
# He et al. [2] and torchvision's reference recipe (mmpretrain's ResNet
# default is True); see configs/classification/README.md.
model = dict(
    backbone=dict(_base_.gmresnet_gmconv, zero_init_residual=False))
