"""scikit-learn's handwritten digits as a tiny CIFAR-like dataset."""
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

DIGITS_CLASSES = tuple(str(i) for i in range(10))


@DATASETS.register_module()
class SklearnDigits(BaseDataset):
    """The 1797 8x8 handwritten digits of scikit-learn, as 32x32 RGB.

    Ships with scikit-learn (no download), so the classification path can be
    shown to learn anywhere. Images are upsampled (nearest) to 32x32 and
    repeated over 3 channels, values 0-255 ``uint8``. A fixed, seeded
    permutation puts 1437 images in ``split='train'`` and 360 in ``'test'``.
    """
    METAINFO = dict(classes=DIGITS_CLASSES)

    def __init__(self, split='train', **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self):
        from sklearn.datasets import load_digits
        digits = load_digits()
        order = np.random.default_rng(0).permutation(len(digits.target))
        cut = int(0.8 * len(order))
        idx = order[:cut] if self.split == 'train' else order[cut:]
        imgs = (digits.images[idx] * (255 / 16)).astype(np.uint8)
        imgs = imgs.repeat(4, axis=1).repeat(4, axis=2)  # (N, 32, 32)
        return [
            dict(img=np.repeat(img[..., None], 3, axis=2), gt_label=int(t))
            for img, t in zip(imgs, digits.target[idx])
        ]
