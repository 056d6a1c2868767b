"""mmgmconv's modules for each OpenMMLab toolbox, one entry module each.

``import mmgmconv`` registers the GMConv layers (mmcv's conv registry) and
hooks (mmengine's) and nothing that needs a toolbox. The backbones and
datasets subclass a toolbox's own classes, so they register when their
entry module is imported, eagerly, as mmdet's ``projects/`` do::

    custom_imports = dict(imports=['mmgmconv', 'mmgmconv.toolboxes.mmdet'])

- :mod:`mmgmconv.toolboxes.mmdet`: ``GMResNet`` in mmdet's ``MODELS``
- :mod:`mmgmconv.toolboxes.mmpretrain`: ``GMResNet``, ``GMResNet_CIFAR``,
  ``GMAlexNet``, ``GMMobileNetV2`` and the ``SklearnDigits`` dataset
- :mod:`mmgmconv.toolboxes.mmseg`: ``GMResNetV1c`` in mmseg's ``MODELS``

The project's configs import the one of their toolbox through
``configs/_base_/runtime/``.
"""
