# ../gmconv_imports.py, and mmgmconv's mmdet modules
# (mmgmconv/toolboxes/mmdet.py).
_base_ = '../gmconv_imports.py'
custom_imports = dict(
    imports=['mmgmconv', 'mmgmconv.safe_checkpoints',
             'mmgmconv.toolboxes.mmdet'])
