# Registers SGMConv, DGMConv, GMResNet and the other mmgmconv modules.
custom_imports = dict(imports=['mmgmconv'], allow_failed_imports=False)
# Stops training at the first NaN or infinite loss, naming the iteration
# (mmgmconv/engine/finite_loss_hook.py). A config that sets its own
# custom_hooks replaces this list: keep the hook with
# custom_hooks = _base_.custom_hooks + [dict(type=...)] (tools/train.py adds
# it back when it is missing).
custom_hooks = [dict(type='StopOnNonFiniteLossHook')]
