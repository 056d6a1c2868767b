# How many checkpoints the long runs keep, stated once: the ImageNet
# classifiers (configs/_base_/classification/imagenet.py, 90-150 epochs) and
# the COCO detectors (configs/gmconv/, 12 epochs) save one per epoch and
# keep the last three and the best one by the first validation metric
# (top-1, COCO box AP), instead of every epoch (about 18 GB per ImageNet
# ResNet-50 run otherwise). Three, not one: a resume may need an older one
# if the newest is cut short (mmgmconv/engine/resume.py). Our choice; the
# paper says nothing about checkpoints. Merged into a config's checkpoint
# hook: default_hooks = dict(checkpoint=_base_.checkpoint_retention)
checkpoint_retention = dict(max_keep_ckpts=3, save_best='auto')
