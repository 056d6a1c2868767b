# Miniature of step 1 of the Table V path (configs/mini/README.md): the plain
# backbone of the mini detectors, a ResNet-18 with 16 base channels (the demo
# detector's), pretrained as an mmpretrain classifier on scikit-learn's
# digits (32x32, no download). Shows the chain works; not a paper experiment.
_base_ = '../demo/resnet20-gmconv_1xb64_digits.py'
model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='GMResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        zero_init_residual=False,
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
max_epochs = 2
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True,
                       T_max=max_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
