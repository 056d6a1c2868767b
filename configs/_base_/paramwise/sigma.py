# Switches for the optimizer on GMConv's mask parameters: S-GMConv ``sigma``
# and D-GMConv ``sigma_predictor`` (mmengine's custom_keys match a substring
# of the parameter name, the longest key first). The paper gives one weight
# decay per recipe (Sec. IV-A: 1e-4 / 5e-4 on CIFAR, 4e-5 on ImageNet,
# 1e-4 on COCO) and does not say whether sigma and the sigma predictor are
# decayed. Decaying them like every other parameter (what PyTorch's SGD does
# with one weight_decay) is our inference, not a stated setting; the configs
# do that unless one of these is used:
#
#   _base_ = ['../demo/resnet20-gmconv_1xb64_digits.py',
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

# No decay on the mask parameters, and 1000 times the config's learning
# rate for S-GMConv sigmas (the predictor keeps the config's rate): our
# choice for short schedules and fine-tuning, used by the main demo
# (configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py). At sigma 5 a
# body sigma's gradient is tiny (behind BatchNorm only the relative weight
# of the off-centre taps counts, and the mask is nearly flat there), so at
# the weights' rate its steps are below float32's spacing (4.8e-7 at 5) and
# round away, or decay alone moves it. 1000 is the smallest factor measured
# with which the body sigmas of both miniature tasks (digits, the demo
# detector) learn from the data (docs/benchmarks.md, "Do the sigmas
# learn?"); another task's loss scales the gradients differently:
# StuckSigmaHook's warning says when a run's sigmas still do not move.
sigma_short_schedule = dict(
    custom_keys={
        'sigma_predictor': dict(decay_mult=0.0),
        'sigma': dict(lr_mult=1e3, decay_mult=0.0),
    })
