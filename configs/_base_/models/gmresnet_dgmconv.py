# ResNet, D-GMConv (sigma1 and ratio predicted) in every conv (the pure
# D-GMConv variant of Sec. IV-D).
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
gmresnet_dgmconv = dict(
    type='GMResNet',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(stem=_base_.dgmconv, body=_base_.dgmconv))
