import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmgmconv  # noqa: F401  (allow-lists mmengine checkpoint types)


def test_mmengine_training_state_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('ckpt-safety-test')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/lr', 0.1)
    state = dict(
        message_hub=hub.state_dict(),
        meta=dict(epoch=1, seed=np.int64(3), hist=np.arange(3.0)))
    path = tmp_path / 'ckpt.pth'
    torch.save(state, path)
    loaded = torch.load(path, weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.statistics('mean') == 0.5 and buf.min() == 0.5
    np.testing.assert_array_equal(loaded['meta']['hist'], np.arange(3.0))


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo should-not-run',))


class _ReachesAttribute:
    def __reduce__(self):
        return (getattr, (torch.nn.Module, 'apply'))


@pytest.mark.parametrize('payload', [_RunsCode, _ReachesAttribute])
def test_code_running_checkpoint_is_refused(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
