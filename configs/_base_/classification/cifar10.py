# CIFAR-10, batch 128 on one GPU: random crop with 4-pixel padding and
# horizontal flip (paper IV-A). Data in data/cifar10 (python version).
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/default_runtime.py', '../toolbox_imports/mmpretrain.py'
]
train_dataloader = dict(batch_size=128, dataset=dict(download=False))
val_dataloader = dict(batch_size=128, dataset=dict(download=False))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(interval=10,
                                     max_keep_ckpts=2, save_last=True))
