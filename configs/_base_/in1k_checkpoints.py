# The ImageNet ResNet-50 checkpoints that the detection (Table V) and
# segmentation configs start from, stated once. Both are trained with this
# repository's ImageNet recipe: configs/classification/imagenet/
# resnet50_8xb32_in1k.py (plain: the baseline and DCN rows) and
# resnet50-gmconv_8xb32_in1k.py (GMConv: the GMConv rows). The paper plugs
# in "the backbones we previously trained on ImageNet"; mmdet's and mmseg's
# own configs would load torchvision's or mmseg's checkpoints, trained with
# other recipes (configs/README.md, "Reproducing Table V").
# A config starts its backbone from one:
#   model = dict(backbone=dict(init_cfg=_base_.resnet50_in1k))
resnet50_in1k = dict(
    type='Pretrained',
    checkpoint='checkpoints/resnet50_in1k.pth',
    prefix='backbone.')
resnet50_gmconv_in1k = dict(
    type='Pretrained',
    checkpoint='checkpoints/resnet50-gmconv_in1k.pth',
    prefix='backbone.')
