# AlexNet, Table IV: D-GMConv first conv predicting sigma1 and sigma2,
# S-GMConv in the others.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
alexnet_gmconv_sigma1_sigma2 = dict(
    stem_conv_cfg=dict(_base_.dgmconv, pred_pattern='sigma1_sigma2'),
    conv_cfg=_base_.sgmconv)
