"""A ``CheckpointHook`` whose checkpoints survive a crash at any moment."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ..atomic_write import (
    PARTIAL_SUFFIX,
    sync_and_replace,
    write_text_atomically,
)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same options), safe against crashes.

    mmengine 0.10.7 removes the outdated checkpoint before writing the new
    one and writes in place, so a crash while saving (a kill, a node
    failure, a job time limit) can leave a half-written newest checkpoint,
    the previous one deleted and ``last_checkpoint`` naming a missing file.
    Here, on a local disk:

    1. the checkpoint is written to ``NAME.pth.partial`` in the same
       directory, synced and renamed to ``NAME.pth``
       (:func:`mmgmconv.atomic_write.sync_and_replace`; the suffix comes
       last so that a file left by a crash never matches ``*.pth``);
    2. ``last_checkpoint`` is rewritten the same way;
    3. only then are checkpoints beyond ``max_keep_ckpts`` removed.

    A crash at any moment therefore leaves complete checkpoints under
    checkpoint names, the previous checkpoint until the new one is in place,
    and a ``last_checkpoint`` naming a complete one (the previous one when
    the crash came between the two renames; when it came before the first
    ``last_checkpoint``, ``tools/train.py --resume`` finds the checkpoint by
    its name). In a distributed run mmengine's
    ``Runner.save_checkpoint`` writes on rank 0 only, and rank 0 renames.

    With a non-local backend (``backend_args``/``out_dir`` of an object
    store) each checkpoint is one object ``put``, which such stores make
    atomic, and no rename exists: the hook writes under the final name and
    keeps the ordering of step 3. ``save_best`` checkpoints are written by
    ``CheckpointHook`` as before; ``--resume`` never reads them.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            # as CheckpointHook: after_val_epoch may save one step twice
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        backend = getattr(self.file_backend, 'client', self.file_backend)
        local = isinstance(backend, LocalBackend)
        runner.save_checkpoint(
            self.out_dir,
            filename + PARTIAL_SUFFIX if local else filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        if local:
            sync_and_replace(self.last_ckpt + PARTIAL_SUFFIX, self.last_ckpt)
        write_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed's checkpoints
                self.file_backend.rmtree(path)
