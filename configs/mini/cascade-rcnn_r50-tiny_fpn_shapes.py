# Miniature of Table V's Cascade R-CNN baseline: mmdet's Cascade R-CNN with
# the mini Faster R-CNN's plain backbone (started from the one pretrained by
# ./resnet50-tiny_digits.py), neck, RPN, data and schedule
# (./faster-rcnn_r50-tiny_fpn_shapes.py). Shows the chain works; not a paper
# experiment.
_base_ = [
    'mmdet::_base_/models/cascade-rcnn_r50_fpn.py',
    '../_base_/datasets/shapes_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py', '../_base_/toolbox_imports/mmdet.py'
]
model = dict(
    backbone=dict(
        type='GMResNet',
        depth=50,
        base_channels=8,
        gmconv_stages=(False, ) * 5,
        frozen_stages=-1,  # all trained, unlike Table V: see ./README.md
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/repro-mini/checkpoints/'
            'resnet50-tiny_digits.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=[
            dict(head, in_channels=64, fc_out_channels=256, num_classes=3)
            for head in _base_.model.roi_head.bbox_head
        ]),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300)),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))

max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[1], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs,
                    max_keep_ckpts=1, save_last=True),
    visualization=dict(draw=False))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
