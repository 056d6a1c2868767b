"""GMConv in a timm ResNet-18, trained with a plain PyTorch training loop.

No mmengine runner, no config: build a timm model, convert its convs
with :func:`mmgmconv.convert_to_gmconv` (D-GMConv stem, S-GMConv body, as
in the paper), train it a few epochs on scikit-learn's handwritten digits
(no download), print the accuracy and the learned sigmas, fold the masks
into the weights with :func:`mmgmconv.fuse_gmconv` and check that the
folded model scores exactly the same::

    python examples/train_digits_plain_pytorch.py --epochs 5
"""
import argparse
import time
from typing import Dict, Tuple

import timm
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import Tensor, nn

from mmgmconv import DGMConv, SGMConv, convert_to_gmconv, fuse_gmconv


def digits_as_images(seed: int = 0) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x_train, y_train, x_test, y_test)`` of the 1797 digits.

    Each 8x8 image is upsampled (nearest) to 16x16, repeated over 3 channels
    and scaled to ``[-1, 1]``: ``x`` is ``(N, 3, 16, 16)`` float32, ``y``
    ``(N,)`` int64. A stratified split holds out 20% (360 images).
    """
    images, labels = load_digits(return_X_y=True)
    x = torch.tensor(images, dtype=torch.float32).view(-1, 1, 8, 8) / 8 - 1
    x = F.interpolate(x, scale_factor=2).expand(-1, 3, -1, -1).contiguous()
    y = torch.tensor(labels)
    train, test = train_test_split(torch.arange(len(y)),
                                   test_size=0.2,
                                   random_state=seed,
                                   stratify=y)
    return x[train], y[train], x[test], y[test]


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 256) -> Tensor:
    """Logits ``(N, 10)`` of ``model`` in eval mode."""
    model.eval()
    return torch.cat([model(chunk) for chunk in x.split(batch_size)])


def train_one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer,
                    x: Tensor, y: Tensor, batch_size: int) -> float:
    """One pass over ``(x, y)`` in a random order; returns the mean loss."""
    model.train()
    total = 0.0
    for idx in torch.randperm(len(y)).split(batch_size):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / len(y)


def learned_sigmas(model: nn.Module, x: Tensor) -> Dict[str, str]:
    """Each GMConv layer's sigma, or the stem's predicted sigmas on ``x``."""
    sigmas = {}
    for name, layer in model.named_modules():
        if isinstance(layer, SGMConv) and layer.sigma is not None:
            sigmas[name] = f'{layer.sigma.item():.3f}'
        elif isinstance(layer, DGMConv):
            with torch.no_grad():
                s1, s2 = layer.predict_sigmas(x)
            sigmas[name] = (f'sigma1 {s1.mean():.3f} +- {s1.std():.3f}, '
                            f'sigma2 {s2.mean():.3f} +- {s2.std():.3f} '
                            f'over {len(x)} test images')
    return sigmas


def main(epochs: int = 5,
         batch_size: int = 64,
         lr: float = 0.1,
         seed: int = 0) -> Dict[str, object]:
    """Train, fold and evaluate; returns the figures it prints."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_as_images(seed)

    # timm's ResNet-18 at a quarter of its width, so that it trains on two
    # CPU cores in seconds; any torchvision or timm model converts the same
    model = timm.create_model('resnet18',
                              num_classes=10,
                              stem_width=16,
                              channels=(16, 32, 64, 128))
    model = convert_to_gmconv(model, stem='conv1')
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    start = time.perf_counter()
    for epoch in range(epochs):
        loss = train_one_epoch(model, optimizer, x_train, y_train, batch_size)
        scheduler.step()
        accuracy = (predict(model, x_test).argmax(1) == y_test).float().mean()
        print(f'epoch {epoch + 1}: train loss {loss:.4f}, '
              f'test accuracy {accuracy:.4f}')
    train_seconds = time.perf_counter() - start

    logits = predict(model, x_test)
    sigmas = learned_sigmas(model, x_test)
    print('learned sigmas:')
    for name, sigma in sigmas.items():
        print(f'  {name}: {sigma}')

    fuse_gmconv(model)
    n_sgmconv = sum(isinstance(m, SGMConv) for m in model.modules())
    folded_logits = predict(model, x_test)
    result = dict(accuracy=(logits.argmax(1) == y_test).float().mean().item(),
                  folded_accuracy=(
                      folded_logits.argmax(1) == y_test).float().mean().item(),
                  max_logit_change=(folded_logits - logits).abs().max().item(),
                  sigmas=sigmas,
                  train_seconds=train_seconds)
    print(f'accuracy {result["accuracy"]:.4f}, folded '
          f'{result["folded_accuracy"]:.4f} ({n_sgmconv} S-GMConv left, '
          f'largest logit change {result["max_logit_change"]:.2e}); '
          f'training took {train_seconds:.1f} s')
    if result['folded_accuracy'] != result['accuracy']:
        raise RuntimeError(f'folding changed the accuracy from '
                           f'{result["accuracy"]} to '
                           f'{result["folded_accuracy"]}')
    return result


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--lr', type=float, default=0.1)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.batch_size, args.lr, args.seed)
