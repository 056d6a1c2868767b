# ResNet (mmdet's and mmpretrain's GMResNet), the paper's GMConv (Tables II,
# III, V): D-GMConv stem predicting sigma1 and the ratio, S-GMConv in
# layer1-4.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
gmresnet_gmconv = dict(
    type='GMResNet',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(stem=_base_.dgmconv, body=_base_.sgmconv))
