from .shapes_coco import CLASSES as SHAPES_CLASSES
from .shapes_coco import SEG_CLASSES as SHAPES_SEG_CLASSES
from .shapes_coco import SEG_PALETTE as SHAPES_SEG_PALETTE
from .shapes_coco import make_shapes_coco

# SklearnDigits (mmgmconv.datasets.digits) subclasses mmpretrain's dataset:
# it registers through mmgmconv.toolboxes.mmpretrain.
__all__ = [
    'make_shapes_coco', 'SHAPES_CLASSES', 'SHAPES_SEG_CLASSES',
    'SHAPES_SEG_PALETTE'
]
