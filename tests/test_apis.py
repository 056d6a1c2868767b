"""init_model: build a config's model and load a checkpoint strictly."""
from pathlib import Path

import pytest
import torch

from mmgmconv.apis import build_model_from_config, init_model

DIGITS = str(Path(__file__).parents[1] /
             'configs/demo/resnet20-gmconv_1xb64_digits.py')


def test_init_model_loads_strictly_and_returns_eval_model(tmp_path):
    model = build_model_from_config(DIGITS)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=3)),
               tmp_path / 'ok.pth')
    loaded, ckpt = init_model(DIGITS, str(tmp_path / 'ok.pth'))
    assert not loaded.training and ckpt['meta']['epoch'] == 3
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


def test_init_model_names_checkpoint_and_config_on_mismatch(tmp_path):
    state = build_model_from_config(DIGITS).state_dict()
    dropped = next(k for k in state if k.endswith('.sigma'))
    del state[dropped]
    path = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=state), path)
    with pytest.raises(RuntimeError, match=rf'(?s)checkpoint {path} does not '
                       rf'match the model of {DIGITS}.*{dropped}'):
        init_model(DIGITS, str(path))
