# Baseline (StdConv) PSPNet R50-D8, ADE20K 512x512, 160k iterations, batch 16
# (4 GPUs x 4):
# mmseg's own config (SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly
# schedule), with the backbone started from the ImageNet ResNet-50 of
# configs/classification/imagenet/resnet50_8xb32_in1k.py instead of mmseg's
# ResNetV1c checkpoint, so that baseline and GMConv start alike.
_base_ = [
    'mmseg::pspnet/pspnet_r50-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/toolbox_imports/mmseg.py', '../_base_/in1k_checkpoints.py'
]
model = dict(pretrained=None, backbone=dict(init_cfg=_base_.resnet50_in1k))
