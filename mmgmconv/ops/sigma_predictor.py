"""The SE-like module of D-GMConv that predicts mask parameters (Fig. 5)."""
import math

import torch
from torch import Tensor, nn


class ZeroInitLinear(nn.Linear):
    """``nn.Linear`` whose weight and bias start (and reset) at zero.

    A class rather than a zero fill after construction, so that
    ``reset_parameters()`` (called after ``to_empty()`` of a model built on
    the meta device, in whatever order the modules are visited) gives zero
    again and not ``nn.Linear``'s random init.
    """

    def reset_parameters(self) -> None:
        # nn.Linear's draw first, so a seeded build draws the random numbers
        # an nn.Linear would and the layers built after it start the same
        super().reset_parameters()
        nn.init.zeros_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


def hidden_units(in_channels: int, reduction: float) -> int:
    """``floor(2C / r)``, the hidden units of a :class:`SigmaPredictor` for
    ``C = in_channels`` and ``r = reduction``; a ``ValueError`` naming
    ``reduction`` if it is not a finite number > 0 or leaves no unit."""
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
    return hidden


class SigmaPredictor(nn.Module):
    """``F(z) = W1 ReLU(W0 z) + B1`` with ``z = concat(maxpool(x),
    avgpool(x))`` (eq. 7, Fig. 5): the first FC has no bias, as in eq. 7.

    Args:
        in_channels: ``C`` of the input feature map.
        num_outputs: Raw values predicted per image (1 to 3).
        reduction: ``r`` in ``floor(2C / r)`` hidden units (paper: 4/3).

    Our choice (the paper does not say how the FCs start): the last FC
    starts at zero weight and bias, so every image first gets raw outputs
    of 0, which :class:`DGMConv` maps to ``sigma_init`` and ratio 1. The
    layer then starts as an S-GMConv with ``sigma = sigma_init`` and learns
    to depart from it, instead of starting from random per-image masks.

    A checkpoint holding a first-FC bias (``...fc1.bias``) raises a
    ``ValueError`` on loading: its predictor computed ``ReLU(W0 z + b0)``,
    which no bias-free ``W0`` reproduces, so dropping the bias silently
    would change every predicted sigma.

    Shapes: input ``(B, C, *spatial)`` with 1, 2 or 3 spatial axes (``(B,
    C, L)``, ``(B, C, H, W)``, ``(B, C, T, H, W)``; the pooling is global
    over all of them), output ``(B, num_outputs)``.
    """

    def __init__(self, in_channels: int, num_outputs: int,
                 reduction: float = 4 / 3):
        super().__init__()
        hidden = hidden_units(in_channels, reduction)
        self.fc1 = nn.Linear(2 * in_channels, hidden, bias=False)  # W0
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = ZeroInitLinear(hidden, num_outputs)  # W1, B1

    def reset_parameters(self) -> None:
        """``nn.Linear``'s init for the first FC, zero for the last."""
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + 'fc1.bias' in state_dict:
            raise ValueError(
                f'{prefix}fc1.bias is in the checkpoint: it was written by a '
                f'sigma predictor whose first FC had a bias; eq. 7 (and this '
                f'SigmaPredictor) has none, and the bias cannot be folded '
                f'away exactly. Retrain or fine-tune the D-GMConv layer, or '
                f'delete that key to load the rest and accept different '
                f'sigmas.')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @staticmethod
    def pool(x: Tensor) -> Tensor:
        """``z = concat(maxpool(x), avgpool(x))``, ``(B, 2C)``: global over
        every spatial axis. ``z[b]`` is finite exactly when ``x[b]`` is
        (a NaN or inf reaches the mean; a finite input's mean does not
        overflow unless its values are near the dtype's largest), which is
        how :class:`~mmgmconv.DGMConv` checks its input."""
        spatial = tuple(range(2, x.dim()))
        return torch.cat([x.amax(dim=spatial), x.mean(dim=spatial)], dim=1)

    def head(self, z: Tensor) -> Tensor:
        """``W1 ReLU(W0 z) + B1``: ``(B, 2C)`` -> ``(B, num_outputs)``."""
        return self.fc2(self.relu(self.fc1(z)))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(x))
