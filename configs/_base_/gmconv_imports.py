# What every config of the project inherits, through the file of its toolbox
# in ./toolbox_imports/ (which adds that toolbox's mmgmconv modules):
# - mmgmconv (the GMConv layers and hooks) and mmgmconv.safe_checkpoints, the
#   project's checkpoint policy for every checkpoint the run reads (no code
#   run, whole, finite; docs/user_guides/checkpoints_and_safety.md);
custom_imports = dict(
    imports=['mmgmconv', 'mmgmconv.safe_checkpoints'],
    allow_failed_imports=False)
# - StopOnNonFiniteLossHook: stops training at the first NaN or infinite
#   loss, naming the iteration (mmgmconv/engine/finite_loss_hook.py);
# - CrashSafeCheckpointHook: the CheckpointHook's checkpoints written
#   atomically, outdated ones removed only after the new one is in place
#   (mmgmconv/engine/crash_safe_checkpoint_hook.py);
# - StuckSigmaHook: warns when GMConv's sigmas do not learn
#   (mmgmconv/engine/stuck_sigma_hook.py; silent without GMConv).
# A config that sets its own custom_hooks replaces this list: keep these with
# custom_hooks = _base_.custom_hooks + [dict(type=...)] (tools/train.py adds
# them back when they are missing).
custom_hooks = [
    dict(type='StopOnNonFiniteLossHook'),
    dict(type='CrashSafeCheckpointHook'),
    dict(type='StuckSigmaHook'),
]
