# Registers SGMConv, DGMConv, GMResNet and the other mmgmconv modules.
custom_imports = dict(imports=['mmgmconv'], allow_failed_imports=False)
# Stops training at the first NaN or infinite loss, naming the iteration
# (mmgmconv/engine/finite_loss_hook.py), and warns when GMConv's sigmas do
# not learn (mmgmconv/engine/stuck_sigma_hook.py; silent without GMConv). A
# config that sets its own custom_hooks replaces this list: keep the hooks
# with custom_hooks = _base_.custom_hooks + [dict(type=...)] (tools/train.py
# adds them back when they are missing).
custom_hooks = [
    dict(type='StopOnNonFiniteLossHook'),
    dict(type='StuckSigmaHook')
]
