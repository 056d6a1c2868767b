# CIFAR ResNet-18 (model_cifar_resnet18.py: stem and four stages), the
# paper's GMConv (Table I): D-GMConv stem (sigma1 and ratio), S-GMConv in
# layer1-4.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
cifar_resnet18_gmconv = dict(
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(stem=_base_.dgmconv, body=_base_.sgmconv))
