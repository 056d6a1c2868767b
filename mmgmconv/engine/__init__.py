from .checkpoint_hook import AtomicCheckpointHook  # noqa: F401 (registers it)
from .finite_loss_hook import StopOnNonFiniteLossHook
from .sigma_logger_hook import SigmaLoggerHook, gmconv_sigmas
from .stuck_sigma_hook import StuckSigmaHook

__all__ = [
    'SigmaLoggerHook', 'StopOnNonFiniteLossHook', 'StuckSigmaHook',
    'gmconv_sigmas'
]
