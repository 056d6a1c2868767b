# ../gmconv_imports.py, and mmgmconv's mmseg modules
# (mmgmconv/toolboxes/mmseg.py).
_base_ = '../gmconv_imports.py'
custom_imports = dict(
    imports=['mmgmconv', 'mmgmconv.safe_checkpoints',
             'mmgmconv.toolboxes.mmseg'])
