"""Fig. 6 configs: S-GMConv everywhere, starting at the sigma they name."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmgmconv.apis import build_model_from_config
from mmgmconv.ops import DGMConv, SGMConv

CIFAR = Path(__file__).parents[1] / 'configs/classification/cifar'
FIG6 = sorted(CIFAR.glob('*-sgmconv-sigma*_1xb128_cifar*.py'))


def test_every_model_and_dataset_has_sigma_1_and_10():
    assert {p.name for p in FIG6} == {
        f'{model}-sgmconv-sigma{sigma}_1xb128_{data}.py'
        for model in ('resnet20', 'resnet56', 'resnet18')
        for sigma in (1, 10) for data in ('cifar10', 'cifar100')}


@pytest.mark.parametrize('path', FIG6, ids=lambda p: p.stem)
def test_config_says_and_builds_its_initial_sigma(path):
    sigma = float(path.stem.split('sigma')[1].split('_')[0])
    cfg = Config.fromfile(path)
    parts = cfg.model.backbone.gmconv_cfg
    for part in ('stem', 'body'):
        assert parts[part]['type'] == 'SGMConv'
        assert parts[part]['sigma_init'] == sigma
    base = Config.fromfile(CIFAR / path.name.replace(f'-sigma{sigma:g}', ''))
    assert cfg.model.head == base.model.head
    assert cfg.train_dataloader == base.train_dataloader
    if 'resnet20' in path.name:  # build the smallest: every sigma starts so
        backbone = build_model_from_config(cfg).backbone
        sigmas = [m.sigma.item() for m in backbone.modules()
                  if isinstance(m, SGMConv) and m.sigma is not None]
        assert len(sigmas) == 19 and set(sigmas) == {sigma}
        assert not any(isinstance(m, DGMConv) for m in backbone.modules())
