# ../gmconv_imports.py, and mmgmconv's mmpretrain modules
# (mmgmconv/toolboxes/mmpretrain.py).
_base_ = '../gmconv_imports.py'
custom_imports = dict(
    imports=['mmgmconv', 'mmgmconv.safe_checkpoints',
             'mmgmconv.toolboxes.mmpretrain'])
