# AlexNet (GMAlexNet), the paper's GMConv (Table II): D-GMConv first conv
# (sigma1 and ratio), S-GMConv in the others.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
alexnet_gmconv = dict(
    stem_conv_cfg=_base_.dgmconv, conv_cfg=_base_.sgmconv)
