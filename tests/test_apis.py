"""init_model: build a config's model, load a checkpoint strictly and
label it with the checkpoint's or else the config's classes."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

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


DET = str(Path(__file__).parents[1] /
          'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py')
SEG = str(Path(__file__).parents[1] /
          'configs/demo/deeplabv3plus_r18-gmconv-tiny_shapes.py')


def save_without_meta(config, path, model=None):
    model = model or build_model_from_config(config)
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


@pytest.mark.parametrize('config, classes', [
    (DET, ('square', 'disc', 'triangle')),
    (SEG, ('background', 'square', 'disc', 'triangle')),
])
def test_classes_come_from_the_config_when_the_checkpoint_has_none(
        tmp_path, config, classes):
    """mmdet's and mmseg's loaders label such a checkpoint with COCO's /
    Cityscapes' classes."""
    model, _ = init_model(config, save_without_meta(config,
                                                    tmp_path / 'c.pth'))
    assert tuple(model.dataset_meta['classes']) == classes


def test_the_configs_metainfo_overrides_its_dataset_class(tmp_path):
    """mmpretrain's get_model reads the dataset class's METAINFO only."""
    cfg = Config.fromfile(DIGITS)
    names = tuple(f'digit {i}' for i in range(10))
    cfg.test_dataloader.dataset.metainfo = dict(classes=names)
    model, _ = init_model(cfg, save_without_meta(DIGITS, tmp_path / 'c.pth'))
    assert model.dataset_meta['classes'] == names


def test_the_checkpoints_classes_come_first(tmp_path):
    model = build_model_from_config(DIGITS)
    names = list('abcdefghij')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=names))),
               tmp_path / 'c.pth')
    loaded, _ = init_model(DIGITS, str(tmp_path / 'c.pth'))
    assert loaded.dataset_meta['classes'] == names


def test_checkpoint_meta_of_another_class_count_is_named(tmp_path):
    """The weights fit the 3-class head, the meta names COCO's 80. The
    RPN head (class-agnostic, num_classes=1) is not named."""
    from mmdet.evaluation import get_classes
    model = build_model_from_config(DET)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=get_classes('coco')))),
               tmp_path / 'c.pth')
    with pytest.raises(ValueError, match=r'meta of checkpoint .*c.pth names '
                       r'80 classes \(person, bicycle, .*\), but the model '
                       rf'of {DET} predicts another number: '
                       r'roi_head.bbox_head num_classes=3'):
        init_model(DET, str(tmp_path / 'c.pth'))


def test_a_head_of_another_class_count_is_named_before_its_shapes(
        tmp_path):
    cfg = Config.fromfile(DIGITS)
    cfg.model.head.num_classes = 5
    path = tmp_path / 'c.pth'
    torch.save(dict(state_dict=build_model_from_config(cfg).state_dict(),
                    meta=dict(dataset_meta=dict(classes=list('abcde')))),
               path)
    with pytest.raises(ValueError, match=r'names 5 classes \(a, b, c, d, e\)'
                       r'.* head num_classes=10'):
        init_model(DIGITS, str(path))


def test_the_configs_classes_are_checked_against_the_heads_too(tmp_path):
    cfg = Config.fromfile(DIGITS)
    cfg.test_dataloader.dataset.metainfo = dict(classes=('odd', 'even'))
    with pytest.raises(ValueError, match=r'test dataset of .* names 2 '
                       r'classes \(odd, even\), .* head num_classes=10'):
        init_model(cfg, save_without_meta(DIGITS, tmp_path / 'c.pth'))

