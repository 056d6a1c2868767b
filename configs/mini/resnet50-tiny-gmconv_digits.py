# Miniature of step 1 of the Table V path: the GMConv backbone of the mini
# detectors (D-GMConv stem, S-GMConv layer1-4, as the GMConv ImageNet
# ResNet-50), pretrained on scikit-learn's digits with the plain one's
# recipe. Shows the chain works; not a paper experiment.
_base_ = './resnet50-tiny_digits.py'
model = dict(
    backbone=dict(
        gmconv_stages=(True, True, True, True, True),
        gmconv_cfg=dict(
            stem=dict(
                type='DGMConv',
                sigma_init=5.0,
                pred_pattern='sigma1_ratio',
                reduction=4 / 3,
                sigma_range=10.0),
            body=dict(type='SGMConv', sigma_init=5.0))))
