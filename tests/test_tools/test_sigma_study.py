"""tools/analysis/sigma_study.py and sigma_update_size.py: the settings,
the table, the update-size estimate (tiny models, no training)."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[2]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / f'tools/analysis/{name}.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


study = load_tool('sigma_study')


@pytest.mark.parametrize('setting, sigma, predictor', [
    ('no_decay', dict(decay_mult=0.0), dict(decay_mult=0.0, lr_mult=1.0)),
    ('lr_mult=100', dict(lr_mult=100.0), dict(lr_mult=1.0)),
    ('no_decay,lr_mult=1e4', dict(decay_mult=0.0, lr_mult=1e4),
     dict(decay_mult=0.0, lr_mult=1.0)),
])
def test_setting_names_give_paramwise_cfg(setting, sigma, predictor):
    assert study.setting_paramwise(setting) == dict(
        custom_keys=dict(sigma=sigma, sigma_predictor=predictor))
    assert study.setting_paramwise('default') == {}


@pytest.mark.parametrize('setting, match', [
    ('lr_mult=0', "lr_mult must be a number > 0, got 'lr_mult=0'"),
    ('lr_mult=x', "lr_mult must be a number > 0, got 'lr_mult=x'"),
    ('decay', "unknown setting part 'decay'"),
])
def test_bad_setting_is_named(setting, match):
    with pytest.raises(ValueError, match=match):
        study.setting_paramwise(setting)


def run(metric, finals, warnings=0):
    return dict(steps=[10, 20], metric=metric, stuck_warnings=warnings,
                sigmas={f'sigma/l{i}': [5.0, v] for i, v in
                        enumerate(finals)})


def test_table_has_mean_std_sigma_range_and_spread():
    results = {
        'default': [run(('coco/bbox_mAP', 0.70), [4.9, 4.9], 1),
                    run(('coco/bbox_mAP', 0.72), [4.9, 4.9], 1)],
        'no_decay,lr_mult=1e4': [run(('coco/bbox_mAP', 0.74), [4.0, 6.0])],
    }
    text = study.table(results, list(results))
    rows = text.splitlines()
    assert rows[0].startswith('| setting | runs | coco/bbox_mAP |')
    assert rows[2] == ('| default | 2 | 0.710 ± 0.014 | 4.9000-4.9000 | '
                       '0.00e+00 ± 0.0e+00 | 2 |')
    assert rows[3] == ('| no_decay,lr_mult=1e4 | 1 | 0.740 ± 0.000 | '
                       '4.0000-6.0000 | 1.00e+00 ± 0.0e+00 | 0 |')


def test_update_size_of_a_small_classifier(capsys, monkeypatch):
    """The digits ResNet-20 at 16x16: every stage has a gradient, and the
    printed step at lr 0.1 is 0.1 times the printed gradient."""
    tool = load_tool('sigma_update_size')
    monkeypatch.setattr(sys, 'argv', [
        'sigma_update_size.py',
        str(ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'),
        '--batch', '2', '--size', '16', '--batches', '1', '--lrs', '0.1'])
    tool.main()
    rows = [r for r in capsys.readouterr().out.splitlines()
            if r.startswith('| layer')]
    assert [r.split(' | ')[0] for r in rows] == ['| layer1', '| layer2',
                                                 '| layer3']
    for row in rows:
        cells = row.strip('|').split('|')
        grad = float(cells[1])
        step = float(cells[2].split(';')[0])
        assert grad > 0
        assert step == pytest.approx(0.1 * grad, rel=0.05)
        assert cells[-1].strip().startswith(
            f'{np.spacing(np.float32(5)) / 2:.2e}')
