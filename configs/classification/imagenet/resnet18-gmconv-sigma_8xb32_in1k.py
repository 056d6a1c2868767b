# ResNet-18 on ImageNet, GMConv, D-GMConv predicting one sigma (Table IV).
_base_ = [
    'mmpretrain::_base_/models/resnet18.py', '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_step30.py'
]
# zero_init_residual=False: the last BN of each block starts at 1, as in
# He et al. [2] and torchvision's reference recipe (mmpretrain's ResNet
# default is True); see configs/classification/README.md.
model = dict(
    backbone=dict(
        type='GMResNet',
        zero_init_residual=False,
        gmconv_stages=(True, True, True, True, True),
        gmconv_cfg=dict(
            stem=dict(
                type='DGMConv',
                sigma_init=5.0,
                pred_pattern='sigma',
                reduction=4 / 3,
                sigma_range=10.0),
            body=dict(type='SGMConv', sigma_init=5.0))),
)
