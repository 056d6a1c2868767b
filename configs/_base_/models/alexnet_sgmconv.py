# AlexNet, S-GMConv in every conv (Table II).
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
alexnet_sgmconv = dict(
    stem_conv_cfg=_base_.sgmconv, conv_cfg=_base_.sgmconv)
