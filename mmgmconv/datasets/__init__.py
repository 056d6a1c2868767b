from .digits import SklearnDigits
from .shapes_coco import CLASSES as SHAPES_CLASSES
from .shapes_coco import make_shapes_coco

__all__ = ['make_shapes_coco', 'SHAPES_CLASSES', 'SklearnDigits']
