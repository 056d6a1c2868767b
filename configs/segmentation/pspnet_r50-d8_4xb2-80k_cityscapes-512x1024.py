# Baseline (StdConv) PSPNet R50-D8, Cityscapes 512x1024, 80k iterations, batch
# 8 (4 GPUs x 2):
# mmseg's own config (SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly
# schedule), with the backbone started from the ImageNet ResNet-50 of
# configs/classification/imagenet/resnet50_8xb32_in1k.py instead of mmseg's
# ResNetV1c checkpoint, so that baseline and GMConv start alike.
_base_ = [
    'mmseg::pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/toolbox_imports/mmseg.py', '../_base_/in1k_checkpoints.py'
]
model = dict(pretrained=None, backbone=dict(init_cfg=_base_.resnet50_in1k))
