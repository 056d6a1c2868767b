# CIFAR ResNet-18 (as Cutout): 3x3 stem, four stages, 64-512 channels.
# zero_init_residual=False: the last BN of each block starts at 1, as in
# Cutout's ResNet-18 (PyTorch's default init), which the paper follows for
# this network (mmpretrain's ResNet default is True).
_base_ = 'mmpretrain::_base_/models/resnet18_cifar.py'
# StdConv here, stated (no GMConv part: (stem, layer1, ..., layer4)); the
# GMConv configs merge ../models/cifar-resnet18_*.py.
model = dict(
    backbone=dict(
        type='GMResNet_CIFAR',
        zero_init_residual=False,
        gmconv_stages=(False, ) * 5))
