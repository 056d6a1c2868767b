"""The SE-like module of D-GMConv that predicts mask parameters (Fig. 5)."""
import math

import torch
from torch import Tensor, nn


class SigmaPredictor(nn.Module):
    """``FC(ReLU(FC(concat(maxpool(x), avgpool(x)))))`` (eq. 7).

    Args:
        in_channels: ``C`` of the input feature map.
        num_outputs: Raw values predicted per image (1 or 2).
        reduction: ``r`` in ``floor(2C / r)`` hidden units (paper: 4/3).

    The last FC starts at zero weight and bias, so every image first gets
    raw outputs of 0 (D-GMConv maps these to ``sigma_init``, ratio 1).

    Shapes: input ``(B, C, H, W)``, output ``(B, num_outputs)``.
    """

    def __init__(self, in_channels: int, num_outputs: int,
                 reduction: float = 4 / 3):
        super().__init__()
        if isinstance(reduction, bool) or not (
                isinstance(reduction, (int, float)) and
                math.isfinite(reduction) and reduction > 0):
            raise ValueError(
                f'reduction must be a finite number > 0, got {reduction!r}')
        hidden = math.floor(2 * in_channels / reduction)
        if hidden < 1:
            raise ValueError(
                f'reduction={reduction!r} leaves floor(2 * {in_channels} / '
                f'reduction) = {hidden} hidden units; it must be <= '
                f'{2 * in_channels}')
        self.fc1 = nn.Linear(2 * in_channels, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, num_outputs)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: Tensor) -> Tensor:
        z = torch.cat([x.amax(dim=(2, 3)), x.mean(dim=(2, 3))], dim=1)
        return self.fc2(self.relu(self.fc1(z)))
