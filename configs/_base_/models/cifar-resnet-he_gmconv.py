# CIFAR ResNet-20/56 of He et al. (model_cifar_resnet_he.py: stem and three
# stages), the paper's GMConv (Table I): D-GMConv stem (sigma1 and ratio),
# S-GMConv in layer1-3.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
cifar_resnet_he_gmconv = dict(
    gmconv_stages=(True, True, True, True),
    gmconv_cfg=dict(stem=_base_.dgmconv, body=_base_.sgmconv))
