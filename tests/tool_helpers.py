"""Helpers the tests of ``tools/`` share: run a tool as a subprocess from
the repository root, and save a freshly initialised model as a
checkpoint for it to load."""
import subprocess
import sys
from pathlib import Path

import torch

from mmgmconv.apis import build_model_from_config

ROOT = Path(__file__).parents[1]


def run_tool(*args, env=None):
    """Run ``python *args`` in the repository root; the finished process."""
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    return proc


def save_checkpoint(config, path, edit=None):
    """Save ``config``'s freshly initialised model as a checkpoint."""
    model = build_model_from_config(config)
    model.init_weights()
    state = model.state_dict()
    if edit:
        edit(state)
    torch.save(dict(state_dict=state), path)
    return path


def confident_square_detector(state):
    """Every box the R-CNN head keeps is a 'square' of score ~0.98, so the
    visualiser (score threshold 0.3) has boxes to draw."""
    state['roi_head.bbox_head.fc_cls.bias'][:] = torch.tensor(
        [5., 0., 0., 0.])
