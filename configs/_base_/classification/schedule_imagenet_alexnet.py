# AlexNet on ImageNet: the ResNet schedule (SGD momentum 0.9, weight decay
# 4e-5, lr / 10 at epochs 30 and 60, 90 epochs, batch 256) with lr 0.01.
_base_ = './schedule_imagenet_step30.py'
optim_wrapper = dict(optimizer=dict(lr=0.01))
