"""Importing this module installs the project's checkpoint policy
(:func:`mmgmconv.checkpoint_safety.install_checkpoint_policy`) in the
process: the opt-in for configs, through ``custom_imports``, so that the
dumped config shows it::

    custom_imports = dict(imports=['mmgmconv', 'mmgmconv.safe_checkpoints'])

The project's configs import it (``configs/_base_/gmconv_imports.py``).
"""
from .checkpoint_safety import install_checkpoint_policy

install_checkpoint_policy()
