"""Make the runner's ``CheckpointHook`` safe against a crash at any
moment, through public extension points only."""
from typing import List, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from .atomic_local_backend import ATOMIC_LOCAL_BACKEND

#: Message-hub key of the checkpoints kept (a resumed run goes on with it).
KEPT_CHECKPOINTS = 'crash_safe_checkpoint_hook.kept'


@HOOKS.register_module()
class CrashSafeCheckpointHook(Hook):
    """Have the runner's ``CheckpointHook`` write checkpoints atomically and
    remove outdated ones only after the new one is in place.

    mmengine 0.10.7's ``CheckpointHook`` removes the outdated checkpoint
    before writing the new one and writes in place, so a crash while saving
    (a kill, a node failure, a job time limit) can leave a half-written
    newest checkpoint and the previous one deleted. With this hook in
    ``custom_hooks`` (``configs/_base_/gmconv_imports.py`` puts it in every
    config of the project), at ``before_run``:

    1. a ``CheckpointHook`` without ``backend_args`` that saves to a local
       disk gets ``backend_args=dict(backend='mmgmconv_atomic_local')``
       (:class:`~mmgmconv.engine.atomic_local_backend.AtomicLocalBackend`):
       each checkpoint is written to ``NAME.pth.partial``, synced and
       renamed to ``NAME.pth``;
    2. its ``max_keep_ckpts`` is taken over: the ``CheckpointHook`` keeps
       all, and this hook, which runs after it (priority ``LOWEST``),
       removes checkpoints beyond ``max_keep_ckpts`` once the new one is
       written.

    A crash at any moment therefore leaves complete checkpoints under
    checkpoint names, and the previous checkpoint until the new one is in
    place. ``last_checkpoint`` is written by ``CheckpointHook`` after the
    checkpoint; if a crash cuts it, ``tools/train.py --resume`` finds the
    newest complete checkpoint by its name. With another backend (an
    object store, whose ``put`` is atomic) only step 2 applies. In a
    distributed run rank 0 removes. ``save_best`` checkpoints are left to
    ``CheckpointHook``; ``--resume`` never reads them. The log says what
    was changed. Our choice: mmengine has no crash-safe mode.
    """
    priority = 'LOWEST'

    def __init__(self):
        self.checkpoint_hook: Optional[CheckpointHook] = None
        self.max_keep_ckpts = -1
        self.kept: List[str] = []

    def before_run(self, runner) -> None:
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        if not hooks:
            return
        hook = self.checkpoint_hook = hooks[0]
        changes = []
        local = isinstance(get_file_backend(hook.out_dir or runner.work_dir),
                           LocalBackend)
        if hook.backend_args is None and local:
            hook.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
            changes.append('written atomically (NAME.pth.partial, renamed)')
        self.max_keep_ckpts, hook.max_keep_ckpts = hook.max_keep_ckpts, -1
        if self.max_keep_ckpts > 0:
            changes.append(f'the last {self.max_keep_ckpts} kept, outdated '
                           'ones removed after the new one is written')
        if changes:
            runner.logger.info(f'{type(self).__name__}: checkpoints '
                               f'{"; ".join(changes)}')

    def before_train(self, runner) -> None:
        # a resumed run: what the run kept, and the checkpoint it resumed
        # from (written after that list was saved into it)
        hub = runner.message_hub
        self.kept = list(hub.get_info(KEPT_CHECKPOINTS) or [])
        resumed_from = hub.get_info('last_ckpt')
        if resumed_from is not None and resumed_from not in self.kept:
            self.kept.append(resumed_from)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs=None) -> None:
        self._remove_outdated(runner)

    def after_train_epoch(self, runner) -> None:
        self._remove_outdated(runner)

    def _remove_outdated(self, runner) -> None:
        """Record the checkpoint just written (``last_ckpt``); remove those
        beyond ``max_keep_ckpts``, oldest first."""
        hook = self.checkpoint_hook
        if hook is None or hook.last_ckpt in (None, *self.kept[-1:]):
            return
        self.kept.append(hook.last_ckpt)
        while 0 < self.max_keep_ckpts < len(self.kept):
            outdated = self.kept.pop(0)
            if not is_main_process():
                continue
            if hook.file_backend.isfile(outdated):
                hook.file_backend.remove(outdated)
            elif hook.file_backend.isdir(outdated):  # deepspeed's
                hook.file_backend.rmtree(outdated)
        runner.message_hub.update_info(KEPT_CHECKPOINTS, self.kept)
