# CIFAR ResNet of He et al. (depth set by the config using it): 3x3 stem,
# three stages of BasicBlocks with 16, 32, 64 channels. StdConv here;
# GMConv is switched on with model.backbone.gmconv_stages.
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
        out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
