from .sigma_logger_hook import SigmaLoggerHook, gmconv_sigmas

__all__ = ['SigmaLoggerHook', 'gmconv_sigmas']
