"""Sphinx configuration of the mmgmconv manual (Markdown through MyST).

Built by ``make docs`` with ``-W --keep-going -n``: every warning, a broken
internal link or heading reference included, fails the build.
"""
import os.path as osp
import re

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

project = 'mmgmconv'
author = 'mmgmconv contributors'
# the one version, mmgmconv/version.py, read without importing the package
with open(osp.join(ROOT, 'mmgmconv', 'version.py'), encoding='utf-8') as f:
    release = re.search(r"__version__ = '([^']+)'", f.read()).group(1)
version = release

extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'figures/*.json', '*.json']
# `[text](page.md#a-heading)` links are checked against these anchors
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']
html_theme = 'alabaster'
html_static_path = []
