# ResNet-18 on CIFAR (as Cutout): SGD lr 0.1, momentum 0.9, weight decay
# 5e-4, lr / 5 at epochs 60, 120 and 160, 200 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[60, 120, 160], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
