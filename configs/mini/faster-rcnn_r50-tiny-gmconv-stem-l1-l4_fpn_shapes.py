# Miniature of Table V "Stem L1-L4": GMConv in the stem and layer1-4, started
# from the GMConv backbone pretrained by ./resnet50-tiny-gmconv_digits.py.
_base_ = './faster-rcnn_r50-tiny_fpn_shapes.py'
model = dict(
    backbone=dict(
        gmconv_stages=(True, True, True, True, True),
        gmconv_cfg=dict(
            _delete_=True,
            stem=dict(
                type='DGMConv',
                sigma_init=5.0,
                pred_pattern='sigma1_ratio',
                reduction=4 / 3,
                sigma_range=10.0),
            body=dict(type='SGMConv', sigma_init=5.0)),
        init_cfg=dict(
            checkpoint='work_dirs/repro-mini/checkpoints/'
            'resnet50-tiny-gmconv_digits.pth')))
