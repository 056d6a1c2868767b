"""One version: mmgmconv/version.py, which setup.py, the package and every
metafile's ``Code: Version`` give."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

import mmgmconv
from mmgmconv.version import __version__

ROOT = Path(__file__).resolve().parents[1]
while not (ROOT / 'setup.py').exists():  # tests may sit in subfolders
    ROOT = ROOT.parent


def test_package_gives_version_py():
    assert re.fullmatch(r'\d+\.\d+\.\d+', __version__)
    assert mmgmconv.__version__ == __version__


def test_setup_py_gives_version_py():
    out = subprocess.run([sys.executable, 'setup.py', '--version'],
                         cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == __version__


def test_metafiles_give_version_py():
    metafiles = sorted(ROOT.glob('configs/**/metafile.yml'))
    assert metafiles
    for path in metafiles:
        meta = yaml.safe_load(path.read_text())
        entries = meta.get('Collections', []) + meta.get('Models', [])
        versions = {(e['Name'], e['Code']['Version'])
                    for e in entries if 'Version' in e.get('Code', {})}
        assert versions, f'{path.relative_to(ROOT)} names no Code: Version'
        for name, version in versions:
            assert version == f'v{__version__}', (
                f'{path.relative_to(ROOT)}: {name} names version {version}, '
                f'mmgmconv/version.py {__version__}')
