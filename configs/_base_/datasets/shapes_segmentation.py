# The embedded demo dataset as semantic segmentation: the 128x128 shapes
# images and their label masks (0 background, 1 square, 2 disc,
# 3 triangle; mmgmconv.datasets.SHAPES_SEG_CLASSES), made by
# `python tools/dataset/make_shapes_coco.py` (or `make demo-seg`).
dataset_type = 'BaseSegDataset'
data_root = 'data/shapes_coco/'
metainfo = dict(
    classes=('background', 'square', 'disc', 'triangle'),
    palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path='train', seg_map_path='masks/train'),
        img_suffix='.png',
        seg_map_suffix='.png',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path='val', seg_map_path='masks/val'),
        img_suffix='.png',
        seg_map_suffix='.png',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
