# Switches for the optimizer on GMConv's mask parameters: S-GMConv ``sigma``
# and D-GMConv ``sigma_predictor`` (mmengine's custom_keys match a substring
# of the parameter name, the longest key first). The paper gives one weight
# decay per recipe (Sec. IV-A: 1e-4 / 5e-4 on CIFAR, 4e-5 on ImageNet,
# 1e-4 on COCO) and does not say whether sigma and the sigma predictor are
# decayed. Decaying them like every other parameter (what PyTorch's SGD does
# with one weight_decay) is our inference, not a stated setting; the configs
# do that unless one of these is used:
#
#   _base_ = ['../demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py',
#             '../_base_/paramwise/sigma.py']
#   optim_wrapper = dict(paramwise_cfg=_base_.sigma_no_decay)
#
# (variables, not an ``optim_wrapper``, so this file combines with schedule
# bases that define one). See "Weight decay and sigma" in
# docs/advanced_guides/design.md.

# No weight decay on the mask parameters: decay pulls every sigma towards 0
# whatever the data say. Every other parameter keeps the config's decay.
sigma_no_decay = dict(
    custom_keys={
        'sigma_predictor': dict(decay_mult=0.0),
        'sigma': dict(decay_mult=0.0),
    })

# Their own learning rate, 10 times the config's, as learnable-kernel-shape
# methods (DCLS, FlexConv) give their shape parameters. The factor is our
# choice: a sigma's gradient is small (dM/dsigma scales as d**2 / sigma**3),
# so at the weights' rate it moves slowly. Decay is unchanged.
sigma_lr_mult = dict(
    custom_keys={
        'sigma_predictor': dict(lr_mult=10.0),
        'sigma': dict(lr_mult=10.0),
    })
