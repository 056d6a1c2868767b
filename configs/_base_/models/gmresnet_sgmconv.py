# ResNet, S-GMConv in every conv (Table II's S-GMConv row).
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
gmresnet_sgmconv = dict(
    type='GMResNet',
    gmconv_stages=(True, True, True, True, True),
    gmconv_cfg=dict(stem=_base_.sgmconv, body=_base_.sgmconv))
