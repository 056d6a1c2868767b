"""StuckSigmaHook: a run whose sigmas cannot learn says so, a run whose
sigmas learn (or that has no GMConv) says nothing."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import TensorDataset

from mmgmconv.engine import StuckSigmaHook
from mmgmconv.ops import DGMConv, SGMConv


class Net(BaseModel):
    """A D-GMConv stem and two S-GMConv layers.

    ``sigma_in_loss=False``: the loss comes from a linear branch only, so
    the GMConv parameters get a zero gradient and decay alone moves them.
    ``used=False``: the GMConv branch is detached, they get no gradient
    (``None``), and the optimizer skips them.
    """

    def __init__(self, sigma_init=5.0, gmconv=True, sigma_in_loss=True,
                 used=True):
        super().__init__()
        conv = SGMConv if gmconv else nn.Conv2d
        kwargs = dict(sigma_init=sigma_init) if gmconv else {}
        self.stem = (DGMConv(3, 4, 3, padding=1, sigma_init=sigma_init)
                     if gmconv else nn.Conv2d(3, 4, 3, padding=1))
        self.conv1 = conv(4, 4, 3, padding=1, **kwargs)
        self.conv2 = conv(4, 1, 3, padding=1, **kwargs)
        self.linear = nn.Linear(3, 1)
        self.sigma_in_loss = sigma_in_loss
        self.used = used

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.conv2(torch.relu(self.conv1(self.stem(inputs))))
        out = out.mean(dim=(1, 2, 3))
        if not self.used:
            out = out.detach()
        if not (self.sigma_in_loss and self.used):
            out = out * 0 + self.linear(inputs.mean(dim=(2, 3)))[:, 0]
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


def train(tmp_path, model, lr, weight_decay=0.0, iters=12, window=4,
          paramwise_cfg=None, accumulative_counts=1, optimizer='SGD'):
    """Train ``model`` for ``iters`` iterations with the hook; the hook's
    warnings (the log records of level WARNING from it)."""
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(2 * iters, 3, 6, 6),
                         torch.randn(2 * iters))
    optim_wrapper = dict(optimizer=dict(type=optimizer, lr=lr, momentum=0.9,
                                        weight_decay=weight_decay),
                         accumulative_counts=accumulative_counts)
    if paramwise_cfg:
        optim_wrapper['paramwise_cfg'] = paramwise_cfg
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=optim_wrapper,
        default_hooks=dict(checkpoint=None),
        custom_hooks=[StuckSigmaHook(window=window)],
        experiment_name=f'stuck_{tmp_path.name}')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        runner.train()
    finally:
        logger.removeHandler(handler)
    return [r.getMessage() for r in records
            if r.levelno == logging.WARNING and 'GMConv' in r.getMessage()]


def test_sigma_whose_updates_round_away_is_reported(tmp_path):
    # at sigma 5, lr 1e-6: every update is far below float32's spacing
    warnings = train(tmp_path, Net(sigma_init=5.0), lr=1e-6)
    sigma = [w for w in warnings if 'the sigma of 2 layer' in w]
    assert len(sigma) == 1, warnings  # once, though 3 windows saw it
    message = sigma[0]
    assert 'has not changed in 4 iterations' in message
    assert 'Layers: conv1, conv2.' in message
    assert 'learning rate of 1e-06' in message
    assert '4.8e-07 at 5' in message  # np.spacing(np.float32(5))
    assert 'configs/_base_/paramwise/sigma.py' in message
    assert 'sigma_no_decay' in message and 'sigma_lr_mult' in message


@pytest.mark.parametrize('accumulative_counts', [1, 2])
def test_sigma_moved_by_decay_alone_is_reported(tmp_path,
                                                accumulative_counts):
    """With gradient accumulation the optimizer steps every other
    iteration, and so does the hook's decay-only copy."""
    warnings = train(tmp_path, Net(sigma_in_loss=False), lr=0.1,
                     weight_decay=0.01,
                     accumulative_counts=accumulative_counts)
    decay = [w for w in warnings if 'not learning from the data' in w]
    assert len(decay) == 2, warnings  # the S-GMConv group and the stem
    sigma = next(w for w in decay if 'the sigma of 2 layer(s)' in w)
    assert 'as weight decay (0.01) alone moves them' in sigma
    assert 'Layers: conv1, conv2.' in sigma
    assert 'Learning rate 0.1' in sigma
    assert 'the sigma_predictor of 1 layer(s)' in next(
        w for w in decay if w is not sigma)
    assert 'Layers: stem.' in next(w for w in decay if w is not sigma)


@pytest.mark.parametrize('seed', [0, 2, 4])
def test_learning_sigmas_give_no_warning(tmp_path, seed):
    """Decay, but sigma in the loss at a scale where its gradient counts
    (sigma 1: dM/dsigma is 125 times that at 5). With seeds 2 and 4 the
    data move both sigmas by nearly one fraction, which a check of the
    layers' agreement alone took for decay; the hook compares each with
    what decay alone does."""
    torch.manual_seed(seed)
    warnings = train(tmp_path, Net(sigma_init=1.0), lr=0.1,
                     weight_decay=0.001)
    assert warnings == []


def test_optimizer_whose_constructor_needs_its_lr(tmp_path):
    """mmpretrain's LARS takes ``lr`` as a required argument: the hook's
    decay-only copy is built with the optimizer's defaults too."""
    pytest.importorskip('mmpretrain')
    import mmpretrain.engine.optimizers  # noqa: F401 (registers LARS)
    warnings = train(tmp_path, Net(sigma_in_loss=False), lr=0.1,
                     weight_decay=0.01, optimizer='mmpretrain.LARS')
    assert any('the sigma of 2 layer(s)' in w and 'as weight decay (0.01) '
               'alone moves them' in w for w in warnings), warnings


def test_one_sigma_moved_by_decay_alone_is_reported(tmp_path):
    """One S-GMConv sigma stepped (the other at lr 0): no other layer to
    agree with, the comparison with decay alone still finds it."""
    warnings = train(tmp_path, Net(sigma_in_loss=False), lr=0.1,
                     weight_decay=0.01,
                     paramwise_cfg=dict(custom_keys={
                         'conv2.sigma': dict(lr_mult=0.0)}))
    sigma = [w for w in warnings if 'the sigma of 1 layer(s)' in w]
    assert len(sigma) == 1, warnings
    assert 'Layers: conv1.' in sigma[0]
    assert 'as weight decay (0.01) alone moves them' in sigma[0]


def test_sigma_predictor_is_checked(tmp_path):
    """Only the stem's predictor has a learning rate (the S-GMConv sigmas
    are left out at lr 0); with no gradient and no decay it is reported
    unchanged."""
    warnings = train(tmp_path, Net(sigma_in_loss=False), lr=0.1,
                     paramwise_cfg=dict(custom_keys={
                         'sigma_predictor': dict(lr_mult=1.0),
                         'sigma': dict(lr_mult=0.0)}))
    assert len(warnings) == 1, warnings
    assert 'the sigma predictor (largest |weight|) of 1 layer(s)' \
        in warnings[0]
    assert 'Layers: stem.' in warnings[0]


@pytest.mark.parametrize('case',
                         ['no_gmconv', 'frozen', 'lr_zero', 'no_gradient'])
def test_silent_when_there_is_nothing_the_optimizer_steps(tmp_path, case):
    model = Net(gmconv=case != 'no_gmconv', used=case != 'no_gradient')
    paramwise_cfg = None
    if case == 'frozen':
        for name, p in model.named_parameters():
            p.requires_grad_('sigma' not in name)
    elif case == 'lr_zero':
        paramwise_cfg = dict(custom_keys={'sigma': dict(lr_mult=0.0)})
    assert train(tmp_path, model, lr=1e-6, paramwise_cfg=paramwise_cfg) == []


@pytest.mark.parametrize('kwargs, match', [
    (dict(window=0), 'window must be an int >= 1, got 0'),
    (dict(window=2.5), 'window must be an int >= 1, got 2.5'),
    (dict(decay_tolerance=1.5), r'decay_tolerance must lie in \(0, 1\)'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StuckSigmaHook(**kwargs)

