from .zero_pad_shortcut import ZeroPadShortcut

__all__ = ['ZeroPadShortcut']
