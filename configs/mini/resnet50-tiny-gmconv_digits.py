# Miniature of step 1 of the Table V path: the GMConv backbone of the mini
# detectors (D-GMConv stem, S-GMConv layer1-4, as the GMConv ImageNet
# ResNet-50), pretrained on scikit-learn's digits with the plain one's
# recipe. Shows the chain works; not a paper experiment.
_base_ = [
    './resnet50-tiny_digits.py', '../_base_/models/gmresnet_gmconv.py'
]
model = dict(backbone=_base_.gmresnet_gmconv)
