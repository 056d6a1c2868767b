"""A local file backend whose writes never leave a partial file behind a
name: mmengine's public file-backend extension point, used by
:class:`~mmgmconv.engine.crash_safe_checkpoint_hook.CrashSafeCheckpointHook`."""
from mmengine.fileio import LocalBackend, register_backend

from ..atomic_write import PARTIAL_SUFFIX, sync_and_replace

#: The name the backend is registered under (``backend_args=dict(backend=
#: ATOMIC_LOCAL_BACKEND)``).
ATOMIC_LOCAL_BACKEND = 'mmgmconv_atomic_local'


@register_backend(ATOMIC_LOCAL_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` / ``put_text`` write
    ``PATH.partial`` in the same directory, sync it and rename it to
    ``PATH`` (:func:`mmgmconv.atomic_write.sync_and_replace`).

    A crash at any moment leaves ``PATH`` with its old content (or absent)
    or the whole new one; the suffix comes last, so a left-over never
    matches ``*.pth``. Everything else is ``LocalBackend``'s.
    """

    def put(self, obj: bytes, filepath) -> None:
        partial = str(filepath) + PARTIAL_SUFFIX
        super().put(obj, partial)
        sync_and_replace(partial, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)
