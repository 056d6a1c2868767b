# Miniature of step 1 of the Table V path (tools/reproduce.py mini): the
# plain backbone of the mini detectors, a ResNet-50 with 8 base channels
# (Bottleneck blocks, as Table V's ResNet-50; mmdet's BasicBlock has no
# DCN), pretrained as an mmpretrain classifier on scikit-learn's digits
# (32x32, no download). Shows the chain works; not a paper experiment.
_base_ = '../_base_/classification/digits.py'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='GMResNet',
        depth=50,
        stem_channels=8,
        base_channels=8,
        zero_init_residual=False,
        gmconv_stages=(False, ) * 5,  # StdConv, stated
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
max_epochs = 2
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True,
                       T_max=max_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
