# Miniature of Table V's baseline row (configs/mini/README.md): the demo's
# small Faster R-CNN with a plain ResNet-50 (8 base channels), started from
# the plain backbone pretrained by ./resnet50-tiny_digits.py (as the COCO
# baseline starts from the plain ImageNet ResNet-50), trained briefly on the
# embedded shapes dataset. Shows the chain works; not a paper experiment.
_base_ = '../demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'
model = dict(
    backbone=dict(
        depth=50,
        base_channels=8,
        gmconv_stages=(False, ) * 5,
        gmconv_cfg=None,
        frozen_stages=-1,  # all trained, unlike Table V: see ./README.md
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='work_dirs/repro-mini/checkpoints/'
            'resnet50-tiny_digits.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[32, 64, 128, 256]))
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[1], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
# The paper's optimizer setting for sigma (every parameter at the config's
# rate and decay), as in the Cascade R-CNN half of the chain; not the
# demo's sigma_short_schedule.
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
