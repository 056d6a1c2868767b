from .checkpoint_hook import AtomicCheckpointHook  # noqa: F401 (registers it)
from .sigma_logger_hook import SigmaLoggerHook, gmconv_sigmas

__all__ = ['SigmaLoggerHook', 'gmconv_sigmas']
