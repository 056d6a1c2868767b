"""configs/_base_/paramwise/sigma.py: the optimizer switches for sigma."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmgmconv.ops import DGMConv, SGMConv

ROOT = Path(__file__).parents[2]
LR, DECAY = 0.1, 0.5


class TinyGMConvNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = DGMConv(3, 4, 3, padding=1)
        self.conv = SGMConv(4, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(self.stem(x))


def optimizer_after_one_step(tmp_path, switch):
    """Parameters before and after one SGD step on a zero gradient, so the
    update is the decay alone: ``p -= lr * lr_mult * decay * decay_mult * p``.
    """
    paramwise = f'paramwise_cfg=_base_.{switch}' if switch else ''
    cfg_file = tmp_path / 'optim.py'
    cfg_file.write_text(
        f"_base_ = ['{ROOT}/configs/_base_/paramwise/sigma.py']\n"
        f"optim_wrapper = dict(optimizer=dict(type='SGD', lr={LR}, "
        f"weight_decay={DECAY}), {paramwise})\n")
    torch.manual_seed(0)
    model = TinyGMConvNet()
    # the predictor's last FC starts at zero, where decay does nothing
    nn.init.normal_(model.stem.sigma_predictor.fc2.weight)
    wrapper = build_optim_wrapper(model,
                                  Config.fromfile(cfg_file).optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    wrapper.update_params((model(torch.randn(2, 3, 8, 8)) * 0).sum())
    return before, dict(model.named_parameters())


def shrink(before, after, name):
    """The factor ``1 - lr * lr_mult * decay * decay_mult`` of the step."""
    return (after[name] / before[name]).flatten()[0].item()


SIGMA_PARAMS = ('conv.sigma', 'stem.sigma_predictor.fc1.weight',
                'stem.sigma_predictor.fc2.weight')


@pytest.mark.parametrize('switch, sigma_factor', [
    (None, 1 - LR * DECAY),  # the paper's: every parameter decays
    ('sigma_no_decay', 1.0),  # sigma and its predictor do not
    ('sigma_lr_mult', 1 - 10 * LR * DECAY),  # they step at 10 x lr
    ('sigma_short_schedule', 1.0),  # no decay (and 1e3 x lr for sigma)
])
def test_switch_takes_effect_on_sigma_and_predictor_only(
        tmp_path, switch, sigma_factor):
    before, after = optimizer_after_one_step(tmp_path, switch)
    for name in SIGMA_PARAMS:
        assert shrink(before, after, name) == pytest.approx(sigma_factor), name
    # the convolution weights keep the config's lr and decay
    for name in ('conv.weight', 'stem.weight'):
        assert shrink(before, after, name) == pytest.approx(1 - LR * DECAY)


def test_short_schedule_gives_sigma_alone_its_learning_rate(tmp_path):
    """sigma_short_schedule: S-GMConv sigma at 1e3 x lr, the predictor and
    the weights at the config's lr."""
    cfg_file = tmp_path / 'optim.py'
    cfg_file.write_text(
        f"_base_ = ['{ROOT}/configs/_base_/paramwise/sigma.py']\n"
        f"optim_wrapper = dict(optimizer=dict(type='SGD', lr={LR}, "
        f"weight_decay={DECAY}), paramwise_cfg=_base_.sigma_short_schedule)\n")
    model = TinyGMConvNet()
    wrapper = build_optim_wrapper(model,
                                  Config.fromfile(cfg_file).optim_wrapper)
    lr_of = {id(p): g['lr'] for g in wrapper.param_groups
             for p in g['params']}
    params = dict(model.named_parameters())
    assert lr_of[id(params['conv.sigma'])] == pytest.approx(1e3 * LR)
    for name in ('stem.sigma_predictor.fc1.weight', 'conv.weight'):
        assert lr_of[id(params[name])] == pytest.approx(LR), name
