from .atomic_local_backend import AtomicLocalBackend
from .checkpoint_match_hook import CheckpointMatchHook
from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook
from .finite_loss_hook import StopOnNonFiniteLossHook
from .sigma_logger_hook import SigmaLoggerHook, gmconv_sigmas
from .stuck_sigma_hook import StuckSigmaHook

__all__ = [
    'AtomicLocalBackend', 'CheckpointMatchHook', 'CrashSafeCheckpointHook',
    'SigmaLoggerHook', 'StopOnNonFiniteLossHook', 'StuckSigmaHook',
    'gmconv_sigmas'
]
