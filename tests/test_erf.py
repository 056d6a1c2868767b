"""effective_receptive_field against networks whose ERF is known exactly."""
import numpy as np
import pytest
import torch
from torch import nn

from mmgmconv.ops import SGMConv
from mmgmconv.visualization import effective_receptive_field


class AsTuple(nn.Module):
    """Last layer of a test backbone: a one-stage tuple, as mmdet's return."""

    def forward(self, x):
        return (x, )


class Backbone(nn.Module):
    """A model with ``backbone``, as ``effective_receptive_field`` takes."""

    def __init__(self, *convs):
        super().__init__()
        self.backbone = nn.Sequential(*convs, AsTuple())


def conv(k, weight, cls=nn.Conv2d, **kw):
    layer = cls(3, 3, k, padding=k // 2, bias=False, **kw)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer


def images(n=2, size=15):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(3, size, size, generator=g) for _ in range(n)]


def test_one_conv_erf_is_its_kernel_magnitude():
    # d out[c, centre] / d x[j, y, x] = w[c, j, y - cy, x - cx]: summed over
    # output channels c, |.| summed over input channels j.
    w = torch.randn(3, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    erf = effective_receptive_field(Backbone(conv(5, w)), images(), stage=0)
    expected = w.sum(0).abs().sum(0).numpy()
    expected = expected / expected.max()
    assert erf.shape == (15, 15)
    np.testing.assert_allclose(erf[5:10, 5:10], expected, rtol=1e-5)
    outside = erf.copy()
    outside[5:10, 5:10] = 0
    assert not outside.any()


def test_two_stacked_box_convs_give_a_triangle():
    # Two 3x3 all-ones convs: the centre unit sees a 5x5 window weighted by
    # the outer product of (1, 2, 3, 2, 1) (a box filter convolved with
    # itself); every path carries the same weight, so it is exact.
    ones = torch.ones(3, 3, 3, 3)
    erf = effective_receptive_field(
        Backbone(conv(3, ones), conv(3, ones)), images(), stage=0)
    tri = np.array([1., 2., 3., 2., 1.])
    expected = np.outer(tri, tri) / 9
    np.testing.assert_allclose(erf[5:10, 5:10], expected, rtol=1e-5)
    assert erf.sum() == pytest.approx(expected.sum(), rel=1e-5)


@pytest.mark.parametrize('small,large', [(0.5, 3.0), (1.0, 10.0)])
def test_gmconv_with_smaller_sigma_has_smaller_erf(small, large):
    w = torch.ones(3, 3, 7, 7)

    def spread(sigma):
        layers = [conv(7, w, SGMConv, sigma_init=sigma) for _ in range(2)]
        erf = effective_receptive_field(Backbone(*layers), images(size=25),
                                         stage=0)
        ys, xs = np.mgrid[:25, :25] - 12
        return (erf * (ys**2 + xs**2)).sum() / erf.sum()

    assert spread(small) < spread(large)


def test_object_centre_erfs_crop_each_object_and_group_by_coco_size():
    """A single 5x5 conv: at every object the ERF is the kernel magnitude,
    centred in the window, whatever the object's position; objects go to
    COCO's size of their area, an unused size is left out."""
    from mmgmconv.visualization import coco_size, object_centre_erfs
    w = torch.rand(3, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    model = Backbone(conv(5, w))
    imgs = images(n=2, size=40)
    objects = [[(10.0, 12.0, 20**2), (30.0, 25.0, 50**2)],
               [(3.0, 20.0, 31**2)]]
    erfs = object_centre_erfs(model, imgs, objects, stage=0, window=9)
    assert sorted(erfs) == ['medium', 'small']
    expected = w.abs().sum(0)  # (3, 5, 5): summed over output channels
    expected = expected.sum(0).numpy()
    for name, count in (('small', 2), ('medium', 1)):
        erf, n = erfs[name]
        assert n == count and erf.shape == (9, 9)
        np.testing.assert_allclose(erf[2:7, 2:7],
                                   expected / expected.max(), rtol=1e-5)
        assert erf.sum() == pytest.approx(erf[2:7, 2:7].sum())
    assert [coco_size(a) for a in (0, 32**2 - 1, 32**2, 96**2)] == [
        'small', 'small', 'medium', 'large']
    with pytest.raises(ValueError, match='outside the 40x40 image'):
        object_centre_erfs(model, imgs, [[(40.0, 1.0, 1.0)], []], 0, 9)
    with pytest.raises(ValueError, match='one list per image'):
        object_centre_erfs(model, imgs, [[]], 0, 9)
