# Registers SGMConv, DGMConv, GMResNet and the other mmgmconv modules.
custom_imports = dict(imports=['mmgmconv'], allow_failed_imports=False)
