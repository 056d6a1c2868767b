# ResNet-56 on CIFAR-10, S-GMConv everywhere, initial sigma 10
# (Fig. 6; initial sigma 5, the paper's default, is
# resnet56-sgmconv_1xb128_cifar10.py). The paper averages three runs:
# tools/train_seeds.py THIS_CONFIG --seeds 0 1 2
_base_ = './resnet56-sgmconv_1xb128_cifar10.py'
model = dict(
    backbone=dict(
        gmconv_cfg=dict(
            stem=dict(type='SGMConv', sigma_init=10.0),
            body=dict(type='SGMConv', sigma_init=10.0))))
