# MobileNetV2, S-GMConv in every conv (Table II).
# Stated once (configs/README.md, "GMConv base files"), with the layers of
# gmconv.py.
_base_ = './gmconv.py'
mobilenet_v2_sgmconv = dict(
    type='GMMobileNetV2',
    stem_conv_cfg=_base_.sgmconv,
    conv_cfg=_base_.sgmconv)
