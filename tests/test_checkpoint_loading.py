"""The checkpoint loading policy (mmgmconv.checkpoint_safety) for every
source mmengine's CheckpointLoader accepts, on every supported torch
(``make test-compat`` runs this file on torch 2.1 too): no pickle payload
runs, downloads are cached by URL and never unpacked, broken files and
non-finite weights are clear errors naming the file."""
import argparse
import hashlib
import json
import os
import pathlib
import zipfile
from collections import defaultdict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.model import BaseModule
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from torch import nn

from checkpoint_server import NO_PROXY, save_payload_checkpoint, start_server
from mmgmconv import SGMConv
from mmgmconv.apis import init_model
from mmgmconv.checkpoint_safety import (
    SCHEME_LOADERS,
    CheckpointError,
    NonFiniteCheckpointError,
    UnsafeCheckpointError,
    allow_checkpoint_types,
    cached_checkpoint_path,
)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server of ``tmp_path/served``; torch's and mmengine's
    caches in ``tmp_path``."""
    for name, value in NO_PROXY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    (tmp_path / 'served').mkdir()
    srv = start_server(tmp_path / 'served')
    yield srv
    srv.stop()


def _payload_source(kind, server, tmp_path, monkeypatch):
    """Serve or write the payload checkpoint; the name ``kind`` loads it by."""
    marker = tmp_path / 'payload-ran'
    save_payload_checkpoint(server.root / 'evil.pth', marker)
    url = f'{server.url}/evil.pth'
    if kind == 'local':
        return str(server.root / 'evil.pth'), marker
    if kind == 'http':
        return url, marker
    if kind in ('torchvision', 'modelzoo'):
        monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                            lambda: {'resnet50': url})
        return f'{kind}://resnet50', marker
    if kind in ('open-mmlab', 'openmmlab'):
        home = tmp_path / 'mmengine_home'
        home.mkdir(exist_ok=True)
        (home / 'open_mmlab.json').write_text(json.dumps({'evil': url}))
        return f'{kind}://evil', marker
    if kind == 'mmcls':
        monkeypatch.setattr(mmengine_checkpoint, 'get_mmcls_models',
                            lambda: {'evil': url})
        return 'mmcls://evil', marker
    assert kind == 's3'
    data = (server.root / 'evil.pth').read_bytes()

    class Backend:

        def get(self, filename):
            return data

    monkeypatch.setattr(mmengine_checkpoint, 'get_file_backend',
                        lambda *args, **kwargs: Backend())
    return 's3://bucket/evil.pth', marker


@pytest.mark.parametrize('kind', [
    'local', 'http', 'torchvision', 'modelzoo', 'open-mmlab', 'openmmlab',
    'mmcls', 's3'
])
def test_payload_never_runs_whatever_the_source(kind, server, tmp_path,
                                                monkeypatch):
    source, marker = _payload_source(kind, server, tmp_path, monkeypatch)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'refusing to load checkpoint .*evil.*system'):
        _load_checkpoint(source, map_location='cpu')
    assert not marker.exists()


class _Tiny(BaseModule):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv = nn.Conv2d(3, 4, 3)


@pytest.mark.parametrize('entry', [
    'load_checkpoint', 'CheckpointLoader', 'init_cfg', 'init_model'])
def test_payload_url_never_runs_whatever_the_loader(entry, server, tmp_path):
    marker = tmp_path / 'payload-ran'
    save_payload_checkpoint(server.root / 'evil.pth', marker)
    url = f'{server.url}/evil.pth'
    with pytest.raises(UnsafeCheckpointError, match='refusing to load'):
        if entry == 'load_checkpoint':
            load_checkpoint(_Tiny(), url, map_location='cpu')
        elif entry == 'CheckpointLoader':
            CheckpointLoader.load_checkpoint(url, map_location='cpu')
        elif entry == 'init_cfg':
            _Tiny(init_cfg=dict(type='Pretrained', checkpoint=url)
                  ).init_weights()
        else:
            init_model(TINY_DETECTOR_BACKBONE, url)
    assert not marker.exists()


def test_every_mmengine_scheme_loads_through_the_policy():
    ours = set(SCHEME_LOADERS.values())
    assert [prefix for prefix, loader in CheckpointLoader._schemes.items()
            if loader not in ours] == []


def _save_weights(path, value):
    torch.save({'state_dict': {'w': torch.full((3, ), float(value))}}, path)


def test_url_cache_is_keyed_by_the_whole_url(server):
    (server.root / 'a').mkdir()
    (server.root / 'b').mkdir()
    _save_weights(server.root / 'a/model.pth', 1)
    _save_weights(server.root / 'b/model.pth', 2)
    a, b = f'{server.url}/a/model.pth', f'{server.url}/b/model.pth'
    assert _load_checkpoint(a)['state_dict']['w'][0] == 1
    assert _load_checkpoint(b)['state_dict']['w'][0] == 2
    assert _load_checkpoint(a)['state_dict']['w'][0] == 1
    # each URL downloaded once, then read from its own cached file
    assert server.requests == ['/a/model.pth', '/b/model.pth']
    assert cached_checkpoint_path(a) != cached_checkpoint_path(b)
    cache = os.path.dirname(cached_checkpoint_path(a))
    assert sorted(os.listdir(cache)) == sorted(
        os.path.basename(cached_checkpoint_path(u)) for u in (a, b))


def test_zip_archive_is_never_unpacked(server, tmp_path):
    """A one-member zip used to be extracted into torch hub's cache, where
    its member replaced the file ``torchvision://resnet50`` loads."""
    member = tmp_path / 'resnet50-0676ba61.pth'
    _save_weights(member, 7)
    with zipfile.ZipFile(server.root / 'planted.pth', 'w') as archive:
        archive.write(member, member.name)
    with pytest.raises(CheckpointError, match=r'planted\.pth.*zip archive '
                       r'but not a torch checkpoint.*not kept'):
        _load_checkpoint(f'{server.url}/planted.pth')
    torch_home = tmp_path / 'torch_home'
    assert [p for p in torch_home.rglob('*') if p.is_file()] == []


def test_sha256_prefix_in_the_file_name_is_checked(server):
    _save_weights(server.root / 'weights.pth', 3)
    data = (server.root / 'weights.pth').read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    wrong = '0' * 8 if not digest.startswith('0' * 8) else '1' * 8
    (server.root / f'w-{digest[:8]}.pth').write_bytes(data)
    (server.root / f'w-{wrong}.pth').write_bytes(data)
    assert _load_checkpoint(
        f'{server.url}/w-{digest[:8]}.pth')['state_dict']['w'][0] == 3
    bad = f'{server.url}/w-{wrong}.pth'
    with pytest.raises(CheckpointError, match=f'w-{wrong}.pth .*{wrong}'):
        _load_checkpoint(bad)
    assert not os.path.exists(cached_checkpoint_path(bad))


def test_broken_download_is_not_kept(server):
    _save_weights(server.root / 'm.pth', 4)
    whole = (server.root / 'm.pth').read_bytes()
    (server.root / 'm.pth').write_bytes(whole[:len(whole) // 2])
    url = f'{server.url}/m.pth'
    with pytest.raises(CheckpointError, match=r'm\.pth.*truncated'):
        _load_checkpoint(url)
    (server.root / 'm.pth').write_bytes(whole)  # fixed on the server
    assert _load_checkpoint(url)['state_dict']['w'][0] == 4
    assert not [n for n in os.listdir(os.path.dirname(
        cached_checkpoint_path(url))) if n.endswith('.partial')]


TINY_DETECTOR_BACKBONE = Config(dict(
    default_scope='mmdet',
    model=dict(type='ResNet', depth=18, base_channels=4, stem_channels=4,
               num_stages=1, strides=(1, ), dilations=(1, ),
               out_indices=(0, ), init_cfg=None)))


def _broken_files(folder):
    good = folder / 'good.pth'
    torch.save({'state_dict': nn.Conv2d(3, 4, 3).state_dict()}, good)
    whole = good.read_bytes()
    rng = np.random.default_rng(0)
    scripted = folder / 'scripted.pth'
    torch.jit.save(torch.jit.script(nn.Conv2d(3, 4, 3)), str(scripted))
    files = {
        'empty': (b'', 'the file is empty'),
        'truncated': (whole[:len(whole) // 2], 'it is truncated'),
        'random': (rng.bytes(4096), 'it is not a torch checkpoint'),
        'random_pickle': (b'\x80' + rng.bytes(4096),
                          'it is corrupt or not a torch checkpoint'),
        'scripted': (scripted.read_bytes(), 'it is a TorchScript archive'),
    }
    paths = {}
    for name, (data, reason) in files.items():
        paths[name] = (folder / f'{name}.pth', reason)
        paths[name][0].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    'name', ['empty', 'truncated', 'random', 'random_pickle', 'scripted'])
def test_broken_file_is_a_clear_error(tmp_path, name):
    path, reason = _broken_files(tmp_path)[name]
    with pytest.raises(CheckpointError) as info:
        _load_checkpoint(str(path))
    message = str(info.value)
    assert f'cannot load checkpoint {path}: {reason}' in message
    assert 'weights_only' not in message  # no advice to load unsafely


def test_truncated_checkpoint_is_not_called_a_mismatch(tmp_path):
    path, _ = _broken_files(tmp_path)['truncated']
    with pytest.raises(CheckpointError, match='truncated') as info:
        init_model(TINY_DETECTOR_BACKBONE, str(path))
    assert 'does not match' not in str(info.value)


class _Masked(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = SGMConv(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)


@pytest.mark.parametrize('wrapped', [True, False],
                         ids=['state_dict', 'bare'])
def test_non_finite_weights_are_refused_naming_the_tensors(tmp_path, wrapped):
    state = _Masked().state_dict()
    state['conv.weight'][0, 0, 0, 0] = float('nan')
    state['conv.sigma'].fill_(float('inf'))
    path = tmp_path / 'diverged.pth'
    torch.save({'state_dict': state} if wrapped else state, path)
    with pytest.raises(NonFiniteCheckpointError) as info:
        load_checkpoint(_Masked(), str(path))
    message = str(info.value)
    assert str(path) in message
    assert 'conv.weight (1 NaN, 0 inf of 108)' in message
    assert 'conv.sigma (0 NaN, 1 inf of 1)' in message
    assert 'bn.' not in message  # finite, and num_batches_tracked is int


@pytest.mark.parametrize('save_args', [
    {}, dict(pickle_protocol=5), dict(_use_new_zipfile_serialization=False)
], ids=['default', 'protocol_5', 'legacy_format'])
def test_mmengine_training_state_loads_on_any_torch(tmp_path, save_args):
    model = _Masked()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.conv(torch.randn(1, 3, 8, 8)).sum().backward()
    optimizer.step()
    hub = MessageHub.get_instance('checkpoint-loading-test')
    hub.update_scalar('train/loss', np.float64(0.5))
    path = tmp_path / 'epoch_1.pth'
    torch.save(dict(meta=dict(epoch=1, seed=np.int64(3), hist=np.arange(3.),
                              device=torch.device('cpu'),
                              dtype=torch.bfloat16, raw=b'\x00\xff'),
                    state_dict=model.state_dict(),
                    optimizer=optimizer.state_dict(),
                    message_hub=hub.state_dict()), path, **save_args)
    loaded = load_checkpoint(_Masked(), str(path))
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.min() == 0.5
    assert loaded['meta']['seed'] == 3 and loaded['meta']['raw'] == b'\x00\xff'
    np.testing.assert_array_equal(loaded['meta']['hist'], np.arange(3.))
    torch.optim.SGD(model.parameters(), lr=0.1).load_state_dict(
        loaded['optimizer'])


class _ReachesAttribute:

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj, name, refused', [
    (nn.Module, 'apply', r'torch\.nn\.modules\.module\.Module'),
    (HistoryBuffer, '__subclasses__',
     r"getattr\(<class '.*HistoryBuffer'>, '__subclasses__'\)"),
], ids=['other_class', 'other_attribute'])
def test_getattr_reaches_only_history_buffer_statistics(
        tmp_path, obj, name, refused):
    path = tmp_path / 'attr.pth'
    torch.save({'state_dict': {}, 'x': _ReachesAttribute(obj, name)}, path)
    with pytest.raises(UnsafeCheckpointError,
                       match=f'refusing to load checkpoint {path}: it asks '
                       f'to build {refused}'):
        _load_checkpoint(str(path))


def test_inf_buffers_of_other_layers_load(tmp_path):
    """A +-inf outside GMConv (an attention mask, a bound) is a value, not a
    bug: it loads, as with mmengine alone; NaN anywhere does not."""
    model = nn.Module()
    model.register_buffer('attn_mask', torch.tensor([0., float('-inf')]))
    model.register_buffer('bound', torch.tensor(float('inf')))
    path = tmp_path / 'masked.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    loaded = _load_checkpoint(str(path))['state_dict']
    assert torch.equal(loaded['attn_mask'], model.attn_mask)
    model.attn_mask[0] = float('nan')
    torch.save({'state_dict': model.state_dict()}, path)
    with pytest.raises(NonFiniteCheckpointError,
                       match=r'attn_mask \(1 NaN, 1 inf of 2\)'):
        _load_checkpoint(str(path))


class UsersOwnMeta:
    """A type of a user's own in a checkpoint's meta."""

    def __init__(self, value=0):
        self.value = value


def test_refusal_says_how_to_allow_a_trusted_type(tmp_path):
    path = tmp_path / 'own.pth'
    torch.save({'state_dict': {}, 'meta': {'own': UsersOwnMeta(3)}}, path)
    name = f'{__name__}.UsersOwnMeta'
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(str(path))
    assert (f'mmgmconv.checkpoint_safety.allow_checkpoint_types({name})'
            in str(info.value))
    assert 'torch.serialization.add_safe_globals' in str(info.value)
    allow_checkpoint_types(UsersOwnMeta)
    assert _load_checkpoint(str(path))['meta']['own'].value == 3


def test_file_in_torch_hubs_cache_is_used_offline(server, tmp_path,
                                                  monkeypatch):
    """Air-gapped nodes pre-place weights in torch hub's cache: the file is
    used as torch hub uses it, nothing is downloaded."""
    url = f'{server.url}/resnet50-0676ba61.pth'
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: {'resnet50': url})
    hub = tmp_path / 'torch_home/hub/checkpoints'
    hub.mkdir(parents=True)
    _save_weights(hub / 'resnet50-0676ba61.pth', 5)
    server.stop()  # offline
    loaded = _load_checkpoint('torchvision://resnet50')
    assert loaded['state_dict']['w'][0] == 5
    assert server.requests == []


def _zero_bytes_of_member(path, member_suffix, count):
    """Zero ``count`` bytes in the middle of the zip member of ``path`` whose
    name ends with ``member_suffix`` (its stored data, not its headers)."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist()
                    if i.filename.endswith(member_suffix))
    data = bytearray(path.read_bytes())
    name_len, extra_len = np.frombuffer(
        bytes(data[info.header_offset + 26:info.header_offset + 30]), '<u2')
    start = info.header_offset + 30 + int(name_len) + int(extra_len)
    start += (info.file_size - count) // 2
    data[start:start + count] = bytes(count)
    path.write_bytes(bytes(data))
    return info.filename


def test_damaged_member_is_refused_naming_it(tmp_path):
    """4 KB zeroed in a weight (still finite) used to load and evaluate."""
    path = tmp_path / 'damaged.pth'
    torch.save({'state_dict': {'w': torch.randn(4096) + 1}}, path)
    member = _zero_bytes_of_member(path, 'data/0', 4096)
    with pytest.raises(CheckpointError) as info:
        _load_checkpoint(str(path))
    message = str(info.value)
    assert f'cannot load checkpoint {path}: it is damaged: {member}' in message
    assert 'CRC-32' in message


def test_file_saved_without_crcs_loads(tmp_path):
    """torch >= 2.6 can save without CRC-32s (recorded as 0)."""
    config = pytest.importorskip(
        'torch.utils.serialization',
        reason='torch < 2.6 always records CRC-32s').config
    path = tmp_path / 'no_crc.pth'
    computes_crc32 = config.save.compute_crc32
    config.save.compute_crc32 = False
    try:
        _save_weights(path, 6)
    finally:
        config.save.compute_crc32 = computes_crc32
    with zipfile.ZipFile(path) as archive:
        assert {i.CRC for i in archive.infolist()} == {0}
    assert _load_checkpoint(str(path))['state_dict']['w'][0] == 6


def _whole_zip_with_pickle(path, pickle_bytes):
    """A torch zip checkpoint whose data.pkl is ``pickle_bytes``, with
    matching CRC-32s."""
    _save_weights(path, 1)
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, pickle_bytes
                             if name.endswith('data.pkl') else data)


def test_whole_file_that_cannot_be_unpickled_is_not_called_corrupt(tmp_path):
    path = tmp_path / 'odd.pth'
    _whole_zip_with_pickle(path, b'\x80\x05\xff\xfe')
    with pytest.raises(CheckpointError) as info:
        _load_checkpoint(str(path))
    message = str(info.value)
    assert 'corrupt' not in message and 'weights_only' not in message
    assert 'the file is whole (its CRC-32s match), a pickle of protocol 5, ' \
        f'but torch {torch.__version__} cannot unpickle it' in message


@pytest.mark.parametrize('content, held', [
    ([1, 2], 'a list'),
    (torch.zeros(2), 'a torch.Tensor'),
    (np.dtype('float32'), f'a {type(np.dtype("float32")).__module__}.'),
    (np.zeros(2), 'a numpy.ndarray'),
], ids=['list', 'tensor', 'numpy_dtype', 'numpy_array'])
def test_non_dict_checkpoint_is_named_what_it_holds(tmp_path, content, held):
    path = tmp_path / 'odd.pth'
    torch.save(content, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(_Tiny(), str(path))
    message = str(info.value)
    assert f'cannot load checkpoint {path}: it holds {held}' in message
    assert 'not a dict: a checkpoint is a dict' in message
    assert 'corrupt' not in message


@pytest.mark.parametrize('entry, value, named', [
    ('state_dict', [torch.zeros(2)], "'state_dict' is a list, not a dict"),
    ('meta', 'epoch 3', "'meta' is a str, not a dict (or None)"),
])
def test_wrong_type_of_entry_is_named(tmp_path, entry, value, named):
    path = tmp_path / 'odd.pth'
    torch.save(dict({'state_dict': {}, 'meta': None}, **{entry: value}), path)
    with pytest.raises(CheckpointError, match=f'{path}: its ' + named.replace(
            '(', r'\(').replace(')', r'\)')):
        _load_checkpoint(str(path))


def test_meta_none_is_no_meta(tmp_path):
    path = tmp_path / 'none.pth'
    torch.save({'state_dict': _Tiny().state_dict(), 'meta': None}, path)
    assert load_checkpoint(_Tiny(), str(path))['meta'] is None


def test_folded_layers_of_the_wrong_type_are_named(tmp_path):
    path = tmp_path / 'folded.pth'
    torch.save({'state_dict': {}, 'meta': {'gmconv_folded': 'conv'}}, path)
    with pytest.raises(CheckpointError, match=r"meta\['gmconv_folded'\] is "
                       "'conv', not a list of layer names"):
        _load_checkpoint(str(path))


def test_folder_given_as_checkpoint_is_named(tmp_path):
    _save_weights(tmp_path / 'epoch_1.pth', 1)
    with pytest.raises(IsADirectoryError) as info:
        load_checkpoint(_Tiny(), str(tmp_path))
    assert (f'cannot load checkpoint {tmp_path}: it is a folder, not a '
            'checkpoint file (torch.save): name the file; it holds '
            'epoch_1.pth') in str(info.value)


@pytest.mark.parametrize('protocol', [2, 4, 5])
def test_harmless_standard_types_load_at_any_protocol(tmp_path, protocol):
    """Our choice: data-only types training scripts put in meta load; they
    used to be called corrupt (numpy strings, dates; protocol 4 and 5 on
    torch >= 2.6) or refused (paths, Namespace, defaultdict)."""
    meta = dict(classes=np.array(['circle', 'square']),
                day=np.array(['2024-05-01'], dtype='datetime64[D]'),
                span=np.timedelta64(3, 's'), raw=np.array([b'x']),
                work_dir=pathlib.PosixPath('/runs/a'),
                args=argparse.Namespace(lr=0.1, steps=[1, 2]),
                counts=defaultdict(list, a=[1]), n=defaultdict(int))
    path = tmp_path / 'meta.pth'
    torch.save({'state_dict': _Tiny().state_dict(), 'meta': meta}, path,
               pickle_protocol=protocol)
    loaded = load_checkpoint(_Tiny(), str(path))['meta']
    assert list(loaded['classes']) == ['circle', 'square']
    assert loaded['day'][0] == np.datetime64('2024-05-01')
    assert loaded['span'] == np.timedelta64(3, 's')
    assert loaded['work_dir'] == pathlib.PosixPath('/runs/a')
    assert loaded['args'] == argparse.Namespace(lr=0.1, steps=[1, 2])
    assert loaded['counts'] == {'a': [1]} and loaded['counts']['b'] == []
    assert loaded['n']['x'] == 0


@pytest.mark.parametrize('protocol', [2, 5])
def test_default_factory_outside_the_allow_list_is_refused(tmp_path,
                                                           protocol):
    path = tmp_path / 'factory.pth'
    torch.save({'state_dict': {}, 'meta': defaultdict(os.getcwd)}, path,
               pickle_protocol=protocol)
    with pytest.raises(UnsafeCheckpointError,
                       match=f'{path}: it asks to build posix.getcwd'):
        _load_checkpoint(str(path))


@pytest.mark.parametrize('protocol', [2, 5])
def test_refusal_of_a_users_type_names_it_and_the_way_out(tmp_path, protocol):
    path = tmp_path / 'own.pth'
    torch.save({'state_dict': {}, 'meta': {'own': _UsersOtherType()}}, path,
               pickle_protocol=protocol)
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(str(path))
    message = str(info.value)
    name = f'{__name__}._UsersOtherType'
    assert f'it asks to build {name}' in message
    assert f'allow_checkpoint_types({name})' in message
    assert "config's custom_imports" in message
    assert 'corrupt' not in message


class _UsersOtherType:
    """Never allowed in these tests."""


@pytest.mark.parametrize('kind', ['unsafe', 'non_finite', 'non_dict'])
def test_refused_download_is_removed_from_the_cache(server, tmp_path, kind):
    served = server.root / 'refused.pth'
    if kind == 'unsafe':
        save_payload_checkpoint(served, tmp_path / 'payload-ran')
    elif kind == 'non_finite':
        _save_weights(served, float('nan'))
    else:
        torch.save([torch.zeros(2)], served)
    url = f'{server.url}/refused.pth'
    with pytest.raises(CheckpointError, match='refused.pth'):
        _load_checkpoint(url)
    assert not os.path.exists(cached_checkpoint_path(url))
    assert not (tmp_path / 'payload-ran').exists()


def test_damaged_download_is_not_kept(server):
    served = server.root / 'damaged.pth'
    torch.save({'state_dict': {'w': torch.randn(4096) + 1}}, served)
    _zero_bytes_of_member(served, 'data/0', 4096)
    url = f'{server.url}/damaged.pth'
    with pytest.raises(CheckpointError, match='damaged.pth.*it is damaged'):
        _load_checkpoint(url)
    assert not os.path.exists(cached_checkpoint_path(url))


def test_custom_imports_allow_a_trusted_type_for_the_tools(tmp_path,
                                                           monkeypatch):
    """The way out the refusal names for the tools (the manual's example):
    a module listed in the config's custom_imports allows the type."""
    package = tmp_path / 'trusting_project'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'runs.py').write_text(
        'class RunInfo:\n    def __init__(self, name):\n'
        '        self.name = name\n')
    (package / 'allow_checkpoint_types.py').write_text(
        'from mmgmconv.checkpoint_safety import allow_checkpoint_types\n'
        'from trusting_project.runs import RunInfo\n\n'
        'allow_checkpoint_types(RunInfo)\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    from trusting_project.runs import RunInfo
    path = tmp_path / 'run.pth'
    torch.save({'state_dict': {}, 'meta': {'run': RunInfo('a')}}, path)
    with pytest.raises(UnsafeCheckpointError,
                       match='trusting_project.runs.RunInfo'):
        _load_checkpoint(str(path))
    (tmp_path / 'cfg.py').write_text(
        "custom_imports = dict(imports=['mmgmconv', "
        "'mmgmconv.safe_checkpoints', "
        "'trusting_project.allow_checkpoint_types'])\n")
    Config.fromfile(str(tmp_path / 'cfg.py'))
    assert _load_checkpoint(str(path))['meta']['run'].name == 'a'


def test_unknown_model_name_is_named_with_the_closest(monkeypatch):
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: {'resnet50': 'u1', 'resnet18': 'u2'})
    with pytest.raises(CheckpointError) as info:
        _load_checkpoint('torchvision://resnet5')
    assert ("cannot load checkpoint torchvision://resnet5: mmengine knows no "
            "torchvision checkpoint named 'resnet5' (2 known; closest: "
            'resnet50') in str(info.value)


def test_mmcls_checkpoint_without_a_backbone_is_named(server, monkeypatch):
    _save_weights(server.root / 'head_only.pth', 1)
    url = f'{server.url}/head_only.pth'
    monkeypatch.setattr(mmengine_checkpoint, 'get_mmcls_models',
                        lambda: {'head_only': url})
    with pytest.raises(CheckpointError, match=r"mmcls://head_only .*no "
                       r"'backbone\.\*' entries"):
        _load_checkpoint('mmcls://head_only')
