# The paper's two GMConv layers with its default settings, stated once
# (configs/README.md, "GMConv base files"). The package ships this file as
# mmgmconv/configs/gmconv.py (a link here), so a config anywhere reaches them
# with `with read_base(): from mmgmconv.configs.gmconv import *`. The
# backbone files in this folder inherit them (`_base_ = './gmconv.py'`)
# and use them as they are
# (`stem=_base_.dgmconv`) or with one argument changed
# (`dict(_base_.dgmconv, pred_pattern='sigma')`); a dumped config shows them
# resolved, every conv type and argument spelled out.

# S-GMConv (Sec. III-B): one learnt sigma per layer, "initialized to 5 by
# default".
sgmconv = dict(type='SGMConv', sigma_init=5.0)

# D-GMConv (Sec. III-C, eq. 7): an SE-like module predicts sigma1 and the
# ratio sigma2/sigma1 per image (Table IV's best row), reduction ratio
# r = 4/3 ("set to 4/3 by default"). sigma_range = 10 bounds the prediction
# to (sigma_init / 10, sigma_init * 10): our choice, the paper is silent
# (docs/advanced_guides/design.md, "Choices the paper leaves open").
dgmconv = dict(
    type='DGMConv',
    sigma_init=5.0,
    pred_pattern='sigma1_ratio',
    reduction=4 / 3,
    sigma_range=10.0)
