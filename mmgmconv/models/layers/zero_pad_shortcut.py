"""He et al.'s parameter-free CIFAR shortcut (option A)."""
import torch.nn.functional as F
from torch import Tensor, nn


class ZeroPadShortcut(nn.Module):
    """Identity shortcut that subsamples by ``stride`` and appends zero
    channels (He et al. 2016, section 4.2, option A). No parameters.

    Shapes: input ``(B, C_in, H, W)``, output
    ``(B, C_out, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f'a zero-padding shortcut cannot reduce '
                             f'channels: {in_channels} -> {out_channels}')
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f'extra_channels={self.extra_channels}, stride={self.stride}'
