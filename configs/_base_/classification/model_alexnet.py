# AlexNet (11x11 and 5x5 kernels) with its classifier in the backbone.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='GMAlexNet', num_classes=1000),
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
