"""Backbone modules, imported one by one (each needs its toolbox):

- ``gm_resnet``: ``GMResNet`` (mmdet)
- ``cls_resnet``: ``ClsGMResNet``, ``GMResNet_CIFAR`` (mmpretrain)
- ``gm_alexnet``: ``GMAlexNet`` (mmpretrain)
- ``gm_mobilenet_v2``: ``GMMobileNetV2`` (mmpretrain)
- ``seg_resnet``: ``GMResNetV1c`` (mmseg)

Their toolbox-free parts are in ``mmgmconv.models.utils`` (the ResNet mixin)
and ``mmgmconv.models.layers`` (``ZeroPadShortcut``).

A new backbone module goes into ``_LAZY`` of ``mmgmconv/models/__init__.py``
and into its toolbox's entry module in ``mmgmconv/toolboxes/``.
"""
