"""tools/train_seeds.py checks its arguments in its parser, before any run."""
import re
from pathlib import Path

import pytest

from tool_helpers import import_tool

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'


def load_tool():
    return import_tool('tools/train_seeds.py')


@pytest.mark.parametrize('argv, message', [
    (['--seeds', '0', '-1'], r'--seeds \[-1\] out of range: a seed must be '
     r'from 0 to 2\*\*32 - 1 = 4294967295'),
    (['--seeds', str(2**32), '1'], r'--seeds \[4294967296\] out of range'),
    (['--seeds', '1', '1'], r'--seeds must be distinct, got \[1, 1\]'),
    (['--seeds', '0', '--cfg-options', 'randomness.seed=5'],
     r"--cfg-options 'randomness.seed=5' would set the seed of every run"),
    (['--seeds', '0', '--cfg-options', 'randomness=dict(seed=5)'],
     'would set the seed of every run'),
    (['--seeds', '0', '--cfg-options', 'max_epochs'],
     "--cfg-options takes KEY=VALUE, got 'max_epochs'"),
])
def test_bad_arguments_are_refused_by_the_parser(argv, message, capsys):
    tool = load_tool()
    with pytest.raises(SystemExit) as exit_info:
        tool.parse_args([str(CONFIG), *argv])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err), message


def test_seeds_at_the_ends_of_the_range_are_taken():
    args = load_tool().parse_args([str(CONFIG), '--seeds', '0',
                                   str(2**32 - 1), '--cfg-options',
                                   'train_cfg.max_epochs=1'])
    assert args.seeds == [0, 2**32 - 1]
