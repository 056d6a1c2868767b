"""tools/analysis/vis_erf.py: arguments checked in its parser, before any
model is built, and annotation files whose problem is named."""
import json
import re
from pathlib import Path

import pytest
import torch

from mmgmconv.apis import build_model_from_config
from mmgmconv.datasets import make_shapes_coco
from tool_helpers import import_tool

ROOT = Path(__file__).parents[2]
DEMO = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'
DIGITS = ROOT / 'configs/demo/resnet20-gmconv_1xb64_digits.py'


@pytest.fixture(scope='module')
def vis_erf():
    return import_tool('tools/analysis/vis_erf.py')


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    return make_shapes_coco(tmp_path_factory.mktemp('erf') / 'shapes',
                            num_train=1, num_val=3, img_size=32)


def refusal(tool, capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        tool.parse_args([str(a) for a in argv])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize('argv, message', [
    (['--max-images', '-1'], "--max-images: must be a positive integer, "
     "got '-1'"),
    (['--max-images', '0'], "--max-images: must be a positive integer"),
    (['--size', '0'], "--size: must be a positive integer, got '0'"),
    (['--size', '-8'], "--size: must be a positive integer"),
    (['--window', '0', '--ann-file', 'a.json'], '--window: must be a '
     'positive integer'),
    (['--window', '32'], '--window is the crop around each object of '
     '--ann-file: give --ann-file too'),
    # the demo detector's backbone returns 4 outputs (out_indices 0-3)
    (['--stage', '99'], r'--stage 99 is not a backbone output of .*'
     r'faster-rcnn_r18-gmconv-tiny_fpn_shapes.py: its backbone returns 4 '
     r'output\(s\), so --stage must be from -4 to 3'),
    (['--stage', '-5'], 'must be from -4 to 3'),
    (['--labels', 'a', 'b'], r'--labels needs one entry per checkpoint '
     r'\(1\), got 2'),
    (['--ann-file', 'missing.json'], "--ann-file 'missing.json' not found"),
    (['--out', 'erf'], "--out 'erf': the figure format comes from the "
     'extension, one of .*png'),
])
def test_bad_arguments_are_refused_by_the_parser(vis_erf, shapes, capsys,
                                                  argv, message):
    err = refusal(vis_erf, capsys, DEMO, 'a.pth', '--images', shapes / 'val',
                  *argv)
    assert re.search(message, err), err


def test_images_folder_is_checked(vis_erf, shapes, tmp_path, capsys):
    err = refusal(vis_erf, capsys, DEMO, 'a.pth', '--images', tmp_path / 'x')
    assert 'is not a folder' in err
    err = refusal(vis_erf, capsys, DEMO, 'a.pth', '--images', tmp_path)
    assert 'no .png/.jpg images in --images' in err


def test_max_images_keeps_that_many(vis_erf, shapes):
    args = vis_erf.parse_args([str(DEMO), 'a.pth', '--images',
                               str(shapes / 'val'), '--max-images', '2',
                               '--stage', '-4'])
    assert [p.name for p in args.paths] == sorted(
        p.name for p in (shapes / 'val').glob('*.png'))[:2]


def test_stage_of_a_backbone_without_out_indices_is_checked_once_built(
        vis_erf, shapes, tmp_path):
    """A config that leaves out ``out_indices`` (the backbone's default) is
    checked on the built model's backbone, before any ERF."""
    torch.save(dict(state_dict=build_model_from_config(DIGITS).state_dict()),
               tmp_path / 'd.pth')
    args = vis_erf.parse_args([str(DIGITS), str(tmp_path / 'd.pth'),
                               '--images', str(shapes / 'val'), '--size',
                               '32', '--stage', '0'])
    args.outputs[str(DIGITS)] = None  # as if the config did not say
    args.stage = 1
    with pytest.raises(ValueError, match=r'--stage 1 is not a backbone '
                       r'output .* returns 1 output\(s\), so --stage must be '
                       r'from -1 to 0'):
        vis_erf.build(args, str(DIGITS), str(tmp_path / 'd.pth'))


def coco(shapes):
    return json.loads(
        (shapes / 'annotations/instances_val.json').read_text())


@pytest.mark.parametrize('content, message', [
    ('', 'is empty: expected COCO annotations'),
    ('  \n', 'is empty'),
    (lambda text: text[:len(text) // 2], r'is not valid JSON \(.*; a '
     r'truncated file\?\)'),
    ('[1, 2]', 'holds a JSON list, not an object'),
    ('{"info": {}}', r'has no "images" list \(keys: \[\'info\'\]\)'),
    ('{"images": [], "annotations": {}}', 'has no "annotations" list'),
    ('{"images": [{"id": 1}], "annotations": []}', r'images\[0\] has no '
     'file_name'),
    ('{"images": [], "annotations": [{"bbox": [0, 0, 1, 1]}]}',
     r'annotations\[0\] has no image_id'),
])
def test_annotation_files_that_are_not_coco_are_named(vis_erf, shapes,
                                                      tmp_path, content,
                                                      message):
    ann = tmp_path / 'instances_val.json'
    text = (shapes / 'annotations/instances_val.json').read_text()
    ann.write_text(content(text) if callable(content) else content)
    val = sorted((shapes / 'val').glob('*.png'))
    with pytest.raises(ValueError, match=f'--ann-file {ann}:? {message}'):
        vis_erf.image_objects(ann, val, 32)


@pytest.mark.parametrize('edit, message', [
    (lambda c: c['images'][0].update(width=0), r"image '.*' has width 0: "
     'width and height must be positive integers'),
    (lambda c: c['images'][0].pop('height'), 'has height None'),
    (lambda c: [a.update(bbox=[1, 2, 3]) for a in c['annotations']],
     r'has bbox \[1, 2, 3\] and area .*: a bbox is \[x, y, width, height\]'),
    (lambda c: [a.update(bbox=[1, 2, -3, 4]) for a in c['annotations']],
     r'has bbox \[1, 2, -3, 4\]'),
    (lambda c: [a.update(area=-1) for a in c['annotations']],
     'and area -1'),
])
def test_malformed_image_entries_and_boxes_are_named(vis_erf, shapes,
                                                     tmp_path, edit, message):
    content = coco(shapes)
    content['images'].sort(key=lambda img: img['file_name'])
    edit(content)
    ann = tmp_path / 'instances_val.json'
    ann.write_text(json.dumps(content))
    val = sorted((shapes / 'val').glob('*.png'))
    with pytest.raises(ValueError, match=f'--ann-file {ann}: .*{message}'):
        vis_erf.image_objects(ann, val, 32)
