# The paper's two GMConv layers, `sgmconv` and `dgmconv`, stated once in the
# package (mmgmconv/configs/gmconv.py), where configs outside this
# repository reach them too (docs/user_guides/train_test.md).
_base_ = '../../../mmgmconv/configs/gmconv.py'
