"""Distributed runs on CPU processes (gloo) and their tear-down."""
import gc

import torch.distributed as dist
from mmengine.config import Config


def use_cpu_distributed(cfg: Config):
    """Run mmengine's DDP on CPU processes (gloo), e.g. for tests.

    mmengine 0.10 sets the CUDA device and passes ``device_ids`` to DDP
    unconditionally. On a machine without GPUs we start the gloo process
    group from torchrun's environment ourselves (mmengine then skips its
    own ``init_dist``) and give DDP ``device_ids=None``, as CPU modules need.
    """
    cfg.setdefault('model_wrapper_cfg',
                   dict(type='MMDistributedDataParallel'))
    cfg.model_wrapper_cfg['device_ids'] = None
    if cfg.launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def close_distributed():
    """Destroy the default process group, if any, once a run succeeded.

    mmengine 0.10 never does, and a gloo process that exits with its group
    alive can abort at interpreter shutdown ("terminate called without an
    active exception", pytorch issue 190489), failing a finished run. Call
    it after the runner is out of scope: garbage (the DDP wrapper and its
    reducer, which hold the group) is collected first, then the group is
    shut down while the interpreter is fully alive.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
