# CIFAR ResNet of He et al. (depth set by the config using it): 3x3 stem,
# three stages of BasicBlocks with 16, 32, 64 channels, zero-padding
# shortcuts (He et al.'s option A, no parameters) and He et al.'s init: the
# last BN of each block is not zero-initialised (mmpretrain's default is;
# on the digits demo that left ResNet-20 at 62-71% top-1 after 10 epochs,
# against 99% without it). StdConv here, stated (no GMConv part: stem,
# layer1-3); the GMConv configs merge ../models/cifar-resnet-he_*.py.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='GMResNet_CIFAR',
        depth=20,
        num_stages=3,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        shortcut='zero_pad',
        zero_init_residual=False,
        gmconv_stages=(False, ) * 4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
