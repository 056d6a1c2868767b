# The segmentation demo: a small GMConv DeepLabV3+ (the GMConv of the
# segmentation configs, configs/_base_/segmentation/gmconv_r50-d8.py, on a
# ResNetV1c-18 with 16 base channels and output stride 16 (layer4 dilated;
# D8 costs 3 times more on CPU) trained from scratch on the embedded shapes
# dataset, on CPU in a few minutes; prints mIoU.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/shapes_segmentation.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/segmentation/gmconv_r50-d8.py',
    '../_base_/toolbox_imports/mmseg.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(128, 128)),
    # the GMConv of the R50-D8 configs (read from its _base_ file), smaller
    backbone=dict(
        _base_.gmconv_backbone,
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        in_channels=128,
        channels=32,
        dilations=(1, 2, 4, 6),
        c1_in_channels=16,
        c1_channels=8,
        num_classes=4,
        norm_cfg=norm_cfg,
        # background covers ~90% of the pixels: weighted down (our choice)
        # so that the shapes, not the background, drive the loss
        loss_decode=dict(class_weight=[0.2, 1.0, 1.0, 1.0])),
    auxiliary_head=None)

max_iters = 600
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=10),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=10, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters // 3, max_keep_ckpts=1,
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=False))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
