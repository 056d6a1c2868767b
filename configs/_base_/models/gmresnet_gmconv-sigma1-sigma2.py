# ResNet, Table IV: D-GMConv stem predicting sigma1 and sigma2, S-GMConv in
# layer1-4.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
gmresnet_gmconv_sigma1_sigma2 = dict(
    type='GMResNet',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(
        stem=dict(_base_.dgmconv, pred_pattern='sigma1_sigma2'),
        body=_base_.sgmconv))
