# ImageNet-1k, batch 256 (8 GPUs x 32), 224 single-crop evaluation
# (resize the short edge to 256, centre crop 224), top-1 / top-5.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/default_runtime.py',
    '../toolbox_imports/mmpretrain.py', '../checkpoint_retention.py'
]
# the last three checkpoints and the best kept (../checkpoint_retention.py)
default_hooks = dict(checkpoint=_base_.checkpoint_retention)
