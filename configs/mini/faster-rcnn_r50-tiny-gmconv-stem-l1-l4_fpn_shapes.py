# Miniature of Table V "Stem L1-L4": GMConv in the stem and layer1-4, started
# from the GMConv backbone pretrained by ./resnet50-tiny-gmconv_digits.py.
# gmresnet_gmconv: ../_base_/models/gmresnet_gmconv.py, through the
# baseline's own base (the demo detector)
_base_ = './faster-rcnn_r50-tiny_fpn_shapes.py'
model = dict(
    backbone=dict(
        _base_.gmresnet_gmconv,
        # the baseline sets gmconv_cfg=None, which a dict cannot merge into
        gmconv_cfg=dict(_base_.gmresnet_gmconv.gmconv_cfg, _delete_=True),
        init_cfg=dict(
            checkpoint='work_dirs/repro-mini/checkpoints/'
            'resnet50-tiny-gmconv_digits.pth')))
