# MobileNetV2 (GMMobileNetV2), the paper's GMConv (Table II): D-GMConv stem
# (sigma1 and ratio), S-GMConv in the other convs.
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
mobilenet_v2_gmconv = dict(
    type='GMMobileNetV2',
    stem_conv_cfg=_base_.dgmconv,
    conv_cfg=_base_.sgmconv)
