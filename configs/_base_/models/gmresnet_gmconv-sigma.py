# ResNet, Table IV: D-GMConv stem predicting sigma only, S-GMConv in
# layer1-4.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
gmresnet_gmconv_sigma = dict(
    type='GMResNet',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(
        stem=dict(_base_.dgmconv, pred_pattern='sigma'), body=_base_.sgmconv))
