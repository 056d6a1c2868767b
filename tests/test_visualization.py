"""mmgmconv.visualization: images as the model sees them, D-GMConv masks."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmgmconv import DGMConv, gaussian_mask
from mmgmconv.apis import build_model_from_config
from mmgmconv.visualization import (
    layer_masks,
    load_images,
    normalised_mean_image,
)

ROOT = Path(__file__).parents[1]
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'


def build(config, folder=None, **backbone):
    """``config``'s model as the tools build it, ``backbone`` overridden."""
    if backbone:
        cfg = Config.fromfile(config)
        cfg.model.backbone.update(backbone)
        config = folder / 'cfg.py'
        cfg.dump(config)
    return build_model_from_config(config).eval()


@pytest.mark.parametrize('config, to_rgb', [(DEMO, True), (DIGITS, False)])
def test_load_images_normalises_as_the_config_says(tmp_path, config, to_rgb):
    cfg = Config.fromfile(config)
    pre = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
    bgr = np.random.default_rng(0).integers(0, 256, (40, 40, 3), np.uint8)
    cv2.imwrite(str(tmp_path / 'a.png'), bgr)
    got = load_images([tmp_path / 'a.png'], build(config), 32)
    img = cv2.resize(bgr, (32, 32))[..., ::-1] if to_rgb else \
        cv2.resize(bgr, (32, 32))
    want = (img - np.array(pre['mean'])) / np.array(pre['std'])
    assert got.shape == (1, 3, 32, 32)
    assert torch.allclose(got[0], torch.tensor(want.transpose(2, 0, 1),
                                               dtype=torch.float32),
                          atol=1e-4)


def test_normalised_mean_image_is_the_dataset_mean_after_preprocessing():
    model = build(DEMO)
    pre = Config.fromfile(DEMO).model.data_preprocessor
    # the mean colour as an image would be loaded (BGR; the config's mean
    # is in RGB order, bgr_to_rgb=True)
    mean_bgr = torch.tensor(pre['mean'][::-1]).view(3, 1, 1).expand(
        3, 64, 64)
    seen = model.data_preprocessor(dict(inputs=[mean_bgr]), False)['inputs']
    assert torch.allclose(seen, normalised_mean_image(model, 64), atol=1e-5)

    model.data_preprocessor = torch.nn.Identity()
    with pytest.raises(ValueError, match='no normalising data_preprocessor'):
        normalised_mean_image(model)


def test_each_dgmconv_mask_comes_from_its_own_input_on_the_mean_image(
        tmp_path):
    # D-GMConv in the stem and in layer1; predictors given random last FCs
    # (they start at zero, which predicts sigma_init for any input) and BN
    # random biases (else a zero image gives zero features throughout)
    model = build(DEMO, tmp_path,
                  gmconv_stages=(True, True, False, False, False),
                  gmconv_cfg=dict(body=dict(type='DGMConv')))
    torch.manual_seed(0)
    dynamic = {n: m for n, m in model.named_modules()
               if isinstance(m, DGMConv)}
    with torch.no_grad():
        for m in dynamic.values():
            m.sigma_predictor.fc2.weight.normal_(std=0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.bias.normal_()
    masks = layer_masks(model)
    with torch.no_grad():
        model.extract_feat(normalised_mean_image(model))
    deep = 'backbone.layer1.0.conv2'
    assert set(dynamic) >= {'backbone.conv1', deep}
    for name, m in dynamic.items():
        _, s1, s2 = masks[name]
        assert (s1, s2) == pytest.approx(m.last_sigmas[0].tolist(), rel=1e-6)
    # a deep layer's input is not zero: a zero probe would predict otherwise
    s1, _ = dynamic[deep].predict_sigmas(
        torch.zeros(1, dynamic[deep].in_channels, 16, 16))
    assert masks[deep][1] != pytest.approx(s1.item(), rel=1e-3)


def test_mask_panel_titles_give_sigma_and_the_smallest_mask_value():
    spec = importlib.util.spec_from_file_location(
        'vis_rf_masks', ROOT / 'tools/analysis/vis_rf_masks.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    # a 3x3 mask with sigma 0.5: corners exp(-(1 + 1) / (2 * 0.25)) = e^-4
    mask = gaussian_mask(3, 0.5).numpy()
    assert tool.panel_title('layer1.0.conv1', mask, 0.5, 0.5) == \
        f'layer1.0.conv1\nsigma 0.50\nmin {np.exp(-4):.3f}'
    assert tool.panel_title('stem', mask, 2.0, 3.0).splitlines()[1] == \
        'sigma 2.00, 3.00'
    assert tool.panel_title('layer1 (3x3)', mask) == \
        f'layer1 (3x3)\nmin {np.exp(-4):.3f}'
