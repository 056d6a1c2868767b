# scikit-learn's digits upsampled to 32x32 (the SklearnDigits dataset, no
# download) with a short CPU schedule: the data, schedule and runtime of the
# classification demo and of the miniature ImageNet step (configs/mini). Not a
# paper experiment.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../toolbox_imports/mmpretrain.py'
]
data_preprocessor = dict(
    num_classes=10, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(type='SklearnDigits', split='train',
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type='SklearnDigits', split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=10)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
randomness = dict(seed=0)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=10,
                                     max_keep_ckpts=1))
