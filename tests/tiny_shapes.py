"""The demo detector on a tiny generated shapes dataset, for the tests that
run whole detectors through the tools."""
from pathlib import Path

from mmgmconv.datasets import make_shapes_coco

ROOT = Path(__file__).parents[1]
DEMO_DET = ROOT / 'configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py'

CONFIG = """
_base_ = '{demo}'
data_root = '{root}/'
train_dataloader = dict(batch_size={batch_size}, num_workers=0,
                        persistent_workers=False,
                        dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size={batch_size}, num_workers=0,
                      persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
"""


def write_tiny_shapes_config(folder, num_train, num_val, batch_size=2,
                             extra=''):
    """Generate ``folder/shapes`` and write ``folder/tiny.py``: the demo
    detector on it, no dataloader workers, then the lines of ``extra``."""
    folder = Path(folder)
    root = make_shapes_coco(folder / 'shapes', num_train=num_train,
                            num_val=num_val)
    path = folder / 'tiny.py'
    path.write_text(CONFIG.format(demo=DEMO_DET, root=root,
                                  batch_size=batch_size) + extra)
    return path
