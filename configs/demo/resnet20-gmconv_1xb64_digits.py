# Classification demo: GMConv CIFAR ResNet-20 (D-GMConv stem, S-GMConv body)
# on scikit-learn's digits upsampled to 32x32 (no download), a few epochs on
# CPU. Shows the classification path (dataset, pipeline, GMConv, evaluation)
# learning; not a paper experiment.
_base_ = [
    '../_base_/classification/model_cifar_resnet_he.py',
    '../_base_/models/cifar-resnet-he_gmconv.py',
    '../_base_/classification/digits.py'
]
model = dict(
    backbone=dict(_base_.cifar_resnet_he_gmconv, depth=20),
    head=dict(num_classes=10))
