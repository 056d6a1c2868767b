# MobileNetV2 on ImageNet: SGD lr 0.01, momentum 0.9, weight decay 4e-5,
# lr x 0.98 every epoch, 300 epochs, batch 256.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=1,
                       gamma=0.98)
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
