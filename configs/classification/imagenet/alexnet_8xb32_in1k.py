# AlexNet on ImageNet, StdConv. Table II.
_base_ = [
    '../../_base_/classification/model_alexnet.py',
    '../../_base_/classification/imagenet.py',
    '../../_base_/classification/schedule_imagenet_alexnet.py'
]
