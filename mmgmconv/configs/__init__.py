"""mmgmconv's GMConv config blocks, importable from a config anywhere.

A config outside this repository (an editable install or a wheel) reaches
them with mmengine's pure-Python configs, as mmdet 3.3 ships
``mmdet/configs``::

    from mmengine.config import read_base

    with read_base():
        from mmgmconv.configs.gmconv import *  # noqa: F401,F403

    model = dict(backbone=dict(type='GMResNet', stem_conv_cfg=dgmconv, ...))

``gmconv.py`` here is the repository's ``configs/_base_/models/gmconv.py``
(a link in the checkout, a copy in a wheel), which the repository's own
configs inherit.
"""
