import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmgmconv
from mmgmconv.checkpoint_safety import allow_mmengine_checkpoint_types

CAN_ALLOW_LIST = allow_mmengine_checkpoint_types()
# torch < 2.6 loads with weights_only=False by default
DEFAULT_IS_WEIGHTS_ONLY = tuple(
    int(v) for v in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 6)


@pytest.mark.skipif(not CAN_ALLOW_LIST,
                    reason='torch < 2.4 has no add_safe_globals: nothing can '
                    'be allow-listed for weights_only')
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


@pytest.mark.parametrize('weights_only', [
    True,
    pytest.param(None, marks=pytest.mark.skipif(
        not DEFAULT_IS_WEIGHTS_ONLY,
        reason='torch < 2.6 loads with weights_only=False by default: '
        'untrusted checkpoints need weights_only=True there (README)'))
], ids=['weights_only', 'default'])
@pytest.mark.parametrize('payload', [_RunsCode, _ReachesAttribute])
def test_code_running_checkpoint_is_refused(tmp_path, payload, weights_only):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': payload()}, path)
    kwargs = {} if weights_only is None else dict(weights_only=True)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, **kwargs)


def test_state_dict_loads_with_weights_only_on_any_torch(tmp_path):
    """The safe way to share weights on every supported torch (README)."""
    model = torch.nn.Sequential(mmgmconv.SGMConv(3, 4, 3),
                                mmgmconv.DGMConv(4, 4, 3))
    path = tmp_path / 'weights.pth'
    torch.save(model.state_dict(), path)
    loaded = torch.load(path, weights_only=True)
    assert loaded.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded[key], value)
