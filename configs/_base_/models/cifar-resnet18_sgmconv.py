# CIFAR ResNet-18, S-GMConv in every conv (Table I, Fig. 6).
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
cifar_resnet18_sgmconv = dict(
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(stem=_base_.sgmconv, body=_base_.sgmconv))
